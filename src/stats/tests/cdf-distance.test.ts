import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agrees, pairCases } from '../../../test/fixtures/stats/cases.ts';
import { energyDistance, wassersteinDistance } from './index.ts';

for (const c of pairCases) {
  test(`wassersteinDistance and energyDistance match scipy: ${c.name} (${c.note})`, () => {
    const w = wassersteinDistance(c.a, c.b);
    const e = energyDistance(c.a, c.b);
    assert.ok(agrees(w, c.expected.wasserstein), `wasserstein: ${w} vs ${c.expected.wasserstein}`);
    assert.ok(agrees(e, c.expected.energy), `energy: ${e} vs ${c.expected.energy}`);
  });
}

test('distances are symmetric and 0 between identical samples', () => {
  const a = Float64Array.of(3, 1, 2, 2, 5);
  const b = Float64Array.of(0.5, 4, 4);
  assert.equal(wassersteinDistance(a, b), wassersteinDistance(b, a));
  assert.equal(energyDistance(a, b), energyDistance(b, a));
  assert.equal(wassersteinDistance(a, Float64Array.from(a).reverse()), 0);
  assert.equal(energyDistance(a, a), 0);
});

test('single values: the distance between the points', () => {
  assert.equal(wassersteinDistance(Float64Array.of(1), Float64Array.of(3.5)), 2.5);
  assert.equal(energyDistance(Float64Array.of(1), Float64Array.of(3.5)), Math.SQRT2 * Math.sqrt(2.5));
});
