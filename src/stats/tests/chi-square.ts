/**
 * Pearson's chi-square goodness of fit, as `scipy.stats.chisquare(f_obs, f_exp)` with ddof 0
 * (SPEC section 4: categorical and low-cardinality columns with a reference of ≤ 1000 rows,
 * expected = reference counts × n_current / n_reference).
 */
import { ValidationError } from '../../common/errors.ts';
import { chi2Sf } from './distributions.ts';
import { numpySum } from './numpy-sum.ts';
import type { TestResult } from './test-result.ts';
import { requireFrequencies, requireSameLength } from './validate.ts';

// scipy's sum check: the totals must agree to √ε relative.
const SUM_RTOL = Math.sqrt(2.220446049250313e-16);

/**
 * χ² = Σ (o − e)² / e and its upper-tail p-value with (#categories − 1) degrees of freedom.
 *
 * Degenerate categories, where scipy returns NaN, are defined here:
 * - a category with observed 0 and expected 0 is dropped (it holds no information; scipy's
 *   0/0 term makes the whole statistic NaN), and the degrees of freedom count only the rest;
 * - a single remaining category: statistic 0 (the totals agree), p = 1;
 * - expected 0 with observed > 0 gives statistic ∞ and p = 0, as scipy.
 *
 * @throws ValidationError when lengths differ, a count is negative or non-finite, a vector is
 *   empty or all zero, or the totals differ by more than √ε relative (scipy raises too).
 */
export function chiSquareTest(observed: ArrayLike<number>, expected: ArrayLike<number>): TestResult {
  requireSameLength(observed, expected, 'observed and expected frequencies');
  requireFrequencies(observed, 'observed');
  requireFrequencies(expected, 'expected');
  const obsSum = numpySum(observed);
  const expSum = numpySum(expected);
  if (Math.abs(obsSum - expSum) / Math.min(obsSum, expSum) > SUM_RTOL) {
    throw new ValidationError(
      `observed and expected frequencies must have the same total (to ${SUM_RTOL} relative), got ${obsSum} and ${expSum}`,
    );
  }
  const terms: number[] = [];
  for (let i = 0; i < observed.length; i++) {
    const o = observed[i] as number;
    const e = expected[i] as number;
    if (o === 0 && e === 0) continue;
    terms.push((o - e) ** 2 / e);
  }
  const df = terms.length - 1;
  const statistic = numpySum(terms);
  if (df < 1) return { statistic: 0, pValue: 1 };
  return { statistic, pValue: chi2Sf(statistic, df) };
}
