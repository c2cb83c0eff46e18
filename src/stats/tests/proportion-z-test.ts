/**
 * Two-proportion z-test, two-sided, pooled (SPEC section 4: columns with ≤ 2 distinct values
 * and a reference of ≤ 1000 rows), with the arithmetic of Evidently's `z_stat_test`.
 */
import { ValidationError } from '../../common/errors.ts';
import { normalSf } from './distributions.ts';
import type { TestResult } from './test-result.ts';

/**
 * z = (p1 − p2) / √(P(1 − P)(1/n1 + 1/n2)) with the pooled P = (p1·n1 + p2·n2)/(n1 + n2), and
 * p = 2·Φ̄(|z|). Evidently writes 2·(1 − Φ(|z|)), which rounds p-values below ~1e-16 to 0;
 * the survival function keeps them.
 *
 * When both samples are all successes or all failures (P = 0 or 1) z is 0/0: we return
 * statistic 0 and p = 1 (the proportions are identical).
 *
 * @throws ValidationError unless n1, n2 are positive integers and 0 ≤ successes ≤ n (integers).
 */
export function proportionZTest(successes1: number, n1: number, successes2: number, n2: number): TestResult {
  requireCounts(successes1, n1, '1');
  requireCounts(successes2, n2, '2');
  const p1 = successes1 / n1;
  const p2 = successes2 / n2;
  const pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
  const variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2);
  if (variance === 0) return { statistic: 0, pValue: 1 };
  const z = (p1 - p2) / Math.sqrt(variance);
  return { statistic: z, pValue: Math.min(2 * normalSf(Math.abs(z)), 1) };
}

function requireCounts(successes: number, n: number, which: string): void {
  if (!Number.isInteger(n) || n < 1) throw new ValidationError(`n${which} must be a positive integer, got ${n}`);
  if (!Number.isInteger(successes) || successes < 0 || successes > n) {
    throw new ValidationError(`successes${which} must be an integer in [0, ${n}], got ${successes}`);
  }
}
