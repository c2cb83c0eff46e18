import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agrees, isError, pairCases } from '../../../test/fixtures/stats/cases.ts';
import { mannWhitneyU } from './index.ts';
import type { MannWhitneyMethod } from './index.ts';

for (const c of pairCases) {
  const e = c.expected;
  const runs: [string, { method?: MannWhitneyMethod; useContinuity?: boolean }, typeof e.mwu | undefined][] = [
    ['auto', {}, e.mwu],
    ['exact', { method: 'exact' }, e.mwuExact],
    ['asymptotic', { method: 'asymptotic' }, e.mwuAsymptotic],
    ['asymptotic, no continuity', { method: 'asymptotic', useContinuity: false }, e.mwuNoContinuity],
  ];
  test(`mannWhitneyU matches scipy.stats.mannwhitneyu: ${c.name} (${c.note})`, () => {
    for (const [label, opts, expected] of runs) {
      if (expected === undefined) continue;
      assert.ok(!isError(expected), `scipy failed on ${label}`);
      const got = mannWhitneyU(c.a, c.b, opts);
      assert.ok(agrees(got.statistic, expected.statistic), `${label} U1: ${got.statistic} vs ${expected.statistic}`);
      assert.ok(agrees(got.pValue, expected.pValue), `${label} p: ${got.pValue} vs ${expected.pValue}`);
    }
  });
}

test("auto is exact whenever one sample has at most 8 values and there are no ties (scipy's rule)", () => {
  // scipy: asymptotic only if both sizes exceed 8, or on ties. 8 vs 500 is therefore exact.
  const a = Float64Array.from([0.11, 0.52, 0.93, 0.34, 0.75, 0.16, 0.57, 0.98]);
  const b = Float64Array.from({ length: 500 }, (_, i) => (i * 0.618034) % 1);
  const auto = mannWhitneyU(a, b);
  assert.deepEqual(auto, mannWhitneyU(a, b, { method: 'exact' }));
  assert.notDeepEqual(auto, mannWhitneyU(a, b, { method: 'asymptotic' }));
});

test('all values equal: p = 1 with and without the continuity correction', () => {
  // scipy: p = 1 with the correction (z = -0.5/0 = -inf) but NaN without it (0/0). No
  // difference can be shown between identical constants, so we return 1 for both.
  const a = new Float64Array(12).fill(4);
  const b = new Float64Array(20).fill(4);
  assert.deepEqual(mannWhitneyU(a, b), { statistic: 120, pValue: 1 });
  assert.deepEqual(mannWhitneyU(a, b, { useContinuity: false }), { statistic: 120, pValue: 1 });
});

test('exact with ties uses the truncated U, as scipy (which casts U to an integer)', () => {
  const a = Float64Array.from([1, 2, 2, 3]);
  const b = Float64Array.from([2, 3, 4]);
  // U1 = 2.5, U2 = 9.5; scipy evaluates the survival function at int(9.5) = 9.
  // scipy.stats.mannwhitneyu([1, 2, 2, 3], [2, 3, 4], method='exact') -> (2.5, 0.4)
  const r = mannWhitneyU(a, b, { method: 'exact' });
  assert.equal(r.statistic, 2.5);
  assert.ok(agrees(r.pValue, 0.4), String(r.pValue));
});

test("an explicit 'exact' whose counts overflow doubles uses the normal approximation", () => {
  // C(2000, 1000) overflows a double: scipy's exact p-value is not finite there.
  const a = Float64Array.from({ length: 1000 }, (_, i) => i * 2);
  const b = Float64Array.from({ length: 1000 }, (_, i) => i * 2 + 1);
  assert.deepEqual(mannWhitneyU(a, b, { method: 'exact' }), mannWhitneyU(a, b, { method: 'asymptotic' }));
});
