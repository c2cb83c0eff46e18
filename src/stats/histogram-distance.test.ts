import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../common/errors.ts';
import { cases, close } from '../../test/fixtures/histogram/cases.ts';
import { histogramDistances } from './histogram-distance.ts';

for (const c of cases) {
  const expected = c.distances;
  if (!expected) continue;
  test(`histogramDistances matches the numpy formulas: ${c.name}`, () => {
    const got = histogramDistances(c.currentCounts, c.paddedReferenceCounts);
    for (const key of ['tvd', 'hellinger', 'kld'] as const) {
      assert.ok(close(got[key], expected[key], 1e-9, 1e-15), `${key}: ${got[key]} vs ${expected[key]}`);
    }
  });
}

test('identical histograms are at distance 0', () => {
  const d = histogramDistances([0, 3, 5, 0], [0, 6, 10, 0]);
  assert.equal(d.tvd, 0);
  assert.equal(d.hellinger, 0);
  assert.equal(d.kld, 0);
});

test('disjoint histograms: tvd 1, hellinger 1, kld uses the 1e-4 zero scaling', () => {
  const d = histogramDistances([1, 0], [0, 1]);
  assert.equal(d.tvd, 1);
  assert.equal(d.hellinger, 1);
  assert.ok(close(d.kld, 2 * Math.log(1 / 1e-4), 1e-15));
});

test('tvd and hellinger are symmetric', () => {
  const a = [1, 4, 0, 7];
  const b = [3, 0, 2, 2];
  const ab = histogramDistances(a, b);
  const ba = histogramDistances(b, a);
  assert.ok(close(ab.tvd, ba.tvd, 1e-15));
  assert.ok(close(ab.hellinger, ba.hellinger, 1e-15));
  assert.ok(close(ab.kld, ba.kld, 1e-12));
});

test('empty histograms: both empty is 0, one empty applies the formulas with zero shares', () => {
  assert.deepEqual(histogramDistances([0, 0], [0, 0]), { tvd: 0, hellinger: 0, kld: 0 });
  const d = histogramDistances([0, 0, 0], [1, 1, 2]);
  assert.equal(d.tvd, 0.5);
  assert.equal(d.hellinger, 1);
  const q = [0.25, 0.25, 0.5];
  const kl = q.reduce((s, x) => s + x * Math.log(x / 1e-4), 0);
  assert.ok(close(d.kld, kl, 1e-15));
  for (const v of Object.values(d)) assert.ok(Number.isFinite(v));
});

test('histogramDistances rejects bad input', () => {
  assert.throws(() => histogramDistances([1, 2], [1, 2, 3]), ValidationError);
  assert.throws(() => histogramDistances([1, -2], [1, 2]), ValidationError);
  assert.throws(() => histogramDistances([1, Number.NaN], [1, 2]), ValidationError);
});
