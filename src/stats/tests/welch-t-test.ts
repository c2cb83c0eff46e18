/**
 * Welch's unequal-variance t-test, two-sided, as `scipy.stats.ttest_ind(a, b, equal_var=False)`
 * (SPEC section 4, "also offered").
 */
import { studentTSf } from './distributions.ts';
import { numpySum } from './numpy-sum.ts';
import type { TestResult } from './test-result.ts';
import { requireSample } from './validate.ts';

/**
 * t = (mean_a − mean_b) / √(s²_a/n_a + s²_b/n_b), Welch–Satterthwaite df, p = 2·P(T_df > |t|).
 * Means and variances use numpy's summation order, so t matches scipy's to the last bits
 * (summary.ts computes more exact moments for reports; here parity with scipy matters more).
 *
 * Degenerate samples, defined where scipy gives NaN or rounding noise:
 * - a sample of one value has no spread: its variance is taken as 0 (scipy: NaN), so one value
 *   against a sample is the one-sample t-test of that sample around the value (df = n − 1);
 * - a constant sample has variance exactly 0 (scipy's two-pass variance can leave ~1e-33 when
 *   the mean is not representable, and then reports a spurious t);
 * - both variances 0 and equal means: statistic 0, p = 1, df 1 (scipy: NaN);
 * - both variances 0 and different means: statistic ±∞, p = 0, df 1, as scipy.
 *
 * @throws ValidationError when a sample is empty or holds a non-finite value.
 */
export function welchTTest(a: Float64Array, b: Float64Array): TestResult & { df: number } {
  requireSample(a, 'a');
  requireSample(b, 'b');
  const sa = moments(a);
  const sb = moments(b);
  const vn1 = sa.variance / a.length;
  const vn2 = sb.variance / b.length;
  // A zero variance term contributes 0 (also for n = 1, where scipy's 0/0 would be NaN).
  const dfDenominator = (vn1 === 0 ? 0 : vn1 ** 2 / (a.length - 1)) + (vn2 === 0 ? 0 : vn2 ** 2 / (b.length - 1));
  // If both variances are 0 the df does not matter; scipy uses 1.
  const df = dfDenominator === 0 ? 1 : (vn1 + vn2) ** 2 / dfDenominator;
  const denom = Math.sqrt(vn1 + vn2);
  const d = sa.mean - sb.mean;
  if (denom === 0) {
    return d === 0 ? { statistic: 0, pValue: 1, df } : { statistic: d > 0 ? Infinity : -Infinity, pValue: 0, df };
  }
  const t = d / denom;
  return { statistic: t, pValue: 2 * studentTSf(Math.abs(t), df), df };
}

/** Mean and the ddof = 1 variance, as scipy's `_var(x, ddof=1)`: mean((x − x̄)²) · n/(n − 1). */
function moments(x: Float64Array): { mean: number; variance: number } {
  const n = x.length;
  let min = Infinity;
  let max = -Infinity;
  for (const v of x) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min === max) return { mean: min, variance: 0 };
  const mean = numpySum(x) / n;
  const squares = new Float64Array(n);
  for (let i = 0; i < n; i++) squares[i] = ((x[i] as number) - mean) ** 2;
  return { mean, variance: (numpySum(squares) / n) * (n / (n - 1)) };
}
