import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agrees, isError, kernels, pairCases } from '../../../test/fixtures/stats/cases.ts';
import { cramerVonMises2 } from './index.ts';
import type { CramerVonMisesMethod } from './index.ts';
import { cdfCvmInf } from './cramer-von-mises.ts';
import { besselK025 } from './bessel-k.ts';

for (const c of pairCases) {
  const e = c.expected;
  const runs: [CramerVonMisesMethod, typeof e.cvm | undefined][] = [
    ['auto', e.cvm],
    ['exact', e.cvmExact],
    ['asymptotic', e.cvmAsymptotic],
  ];
  const singleton = c.a.length === 1 || c.b.length === 1;
  test(`cramerVonMises2 matches scipy.stats.cramervonmises_2samp: ${c.name} (${c.note})`, () => {
    for (const [method, expected] of runs) {
      if (expected === undefined) continue;
      assert.ok(!isError(expected), `scipy failed on ${method}`);
      const got = cramerVonMises2(c.a, c.b, { method });
      if (singleton) {
        // scipy: "x and y must contain at least two observations" -> NaN. We differ by design
        // and give the exact p-value of the single value's position (checked below).
        assert.ok(Number.isNaN(expected.statistic) && Number.isNaN(expected.pValue));
        assert.ok(Number.isFinite(got.statistic) && got.pValue > 0 && got.pValue <= 1);
        continue;
      }
      assert.ok(agrees(got.statistic, expected.statistic), `${method} T: ${got.statistic} vs ${expected.statistic}`);
      assert.ok(agrees(got.pValue, expected.pValue), `${method} p: ${got.pValue} vs ${expected.pValue}`);
    }
  });
}

test('a sample of one value: exact p-value of its position (scipy returns NaN)', () => {
  // One value x among N = n + 1: under the null its rank r is uniform on 1..N and
  // U(r) = (r - 1)² + n(N - r). The extreme positions r = 1 and r = N give the largest U.
  const b = Float64Array.from({ length: 9 }, (_, i) => i + 1); // 1..9
  const lowest = cramerVonMises2(Float64Array.of(0), b);
  const middle = cramerVonMises2(Float64Array.of(5.5), b);
  // U(1) = 81 and U(10) = 81 are the two largest of the 10 positions: p = 2/10.
  assert.ok(agrees(lowest.pValue, 0.2), String(lowest.pValue));
  assert.equal(middle.pValue, 1);
  // T is scipy's formula, defined for any sizes: U/(nm(n+m)) - (4nm - 1)/(6(n+m)).
  assert.ok(agrees(lowest.statistic, 81 / (9 * 10) - 35 / 60));
  // Symmetric in the samples.
  assert.deepEqual(cramerVonMises2(b, Float64Array.of(0)), lowest);
});

test('limiting CvM distribution and K_1/4 match scipy on a grid', () => {
  for (const [x, expected] of kernels.cdfCvmInf as [number, number][]) {
    assert.ok(agrees(cdfCvmInf(x), expected, 1e-12, 1e-15), `cdf(${x}) = ${cdfCvmInf(x)} vs ${expected}`);
  }
  for (const [x, expected] of kernels.besselK025 as [number, number][]) {
    // scipy's kv (AMOS) itself is good to ~1e-13 near x = 2; ours agrees with mpmath to 5e-15.
    assert.ok(agrees(besselK025(x), expected, 1e-12, 0), `K(${x}) = ${besselK025(x)} vs ${expected}`);
  }
});

test("an explicit 'exact' beyond 2^53 placements uses the asymptotic p-value", () => {
  // C(60, 30) ≈ 1.2e17 placements cannot be counted exactly in doubles (scipy would build its
  // tables with big integers for a long time); the asymptotic p-value is returned instead.
  const a = Float64Array.from({ length: 30 }, (_, i) => (i * 0.618) % 1);
  const b = Float64Array.from({ length: 30 }, (_, i) => ((i * 0.382) % 1) + 0.05);
  assert.deepEqual(cramerVonMises2(a, b, { method: 'exact' }), cramerVonMises2(a, b, { method: 'asymptotic' }));
});
