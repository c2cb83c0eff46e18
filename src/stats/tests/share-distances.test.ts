import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agrees, frequencyCases } from '../../../test/fixtures/stats/cases.ts';
import { ValidationError } from '../../common/errors.ts';
import { hellingerDistance, jensenShannonDistance, klDivergence, psi, totalVariationDistance } from './index.ts';

for (const c of frequencyCases) {
  test(`share distances match scipy / Evidently: ${c.name} (${c.note})`, () => {
    const { reference: r, current: q, expected } = c;
    const got = {
      jensenShannon: jensenShannonDistance(r, q),
      psi: psi(r, q),
      kl: klDivergence(r, q),
      hellinger: hellingerDistance(r, q),
      tvd: totalVariationDistance(r, q),
    };
    for (const key of Object.keys(expected) as (keyof typeof expected)[]) {
      assert.ok(agrees(got[key], expected[key]), `${key}: ${got[key]} vs ${expected[key]}`);
    }
  });
}

test('typed arrays work as inputs, and inputs are not modified', () => {
  const r = Float64Array.of(10, 0, 30);
  const q = [5, 5, 0];
  const before = [Array.from(r), q.slice()];
  assert.equal(psi(r, q), psi(Array.from(r), Float64Array.from(q)));
  klDivergence(r, q);
  jensenShannonDistance(r, q);
  assert.deepEqual([Array.from(r), q], before);
});

test('jensen-shannon where rounding makes the divergence negative: 0, not NaN', () => {
  // scipy.spatial.distance.jensenshannon(p, q) returns NaN here: the summed divergence rounds
  // to a tiny negative number and scipy takes its square root. The distance is 0 to within
  // rounding, so we clamp the divergence at 0.
  const p = [0.17565562060255901, 0.8631789223498866, 0.5414612202490917, 0.2997118905373848, 0.42268722119765845];
  const q = [0.17565562060255901, 0.8631789223498868, 0.541461220249092, 0.299711890537385, 0.4226872211976587];
  assert.equal(jensenShannonDistance(p, q), 0);
  assert.equal(jensenShannonDistance([1, 2, 3], [2, 4, 6]), 0);
});

test('empty, all-zero, negative or mismatched inputs are rejected', () => {
  for (const f of [jensenShannonDistance, psi, klDivergence, hellingerDistance, totalVariationDistance]) {
    assert.throws(() => f([], []), ValidationError);
    assert.throws(() => f([0, 0], [1, 2]), ValidationError);
    assert.throws(() => f([1, -1], [1, 2]), ValidationError);
    assert.throws(() => f([1, 2], [1, 2, 3]), ValidationError);
    assert.throws(() => f([1, NaN], [1, 2]), ValidationError);
  }
});
