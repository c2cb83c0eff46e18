/**
 * Mann–Whitney U test, two-sided, as `scipy.stats.mannwhitneyu` (SPEC section 4, "also offered").
 */
import { normalSf } from './distributions.ts';
import type { TestResult } from './test-result.ts';
import { tieGroups } from './ties.ts';
import { requireSample, sortedCopy } from './validate.ts';

/** 'auto' is exact when either sample has ≤ 8 values and there are no ties, as scipy. */
export type MannWhitneyMethod = 'auto' | 'exact' | 'asymptotic';

/**
 * U1 (the statistic of the first sample: R1 − n1(n1+1)/2 with midranks) and the two-sided
 * p-value of max(U1, U2).
 *
 * - exact: the null distribution of U, no tie correction (as scipy); O(min(n1, n2)·n1·n2),
 *   meant for small samples;
 * - asymptotic: normal approximation with tie correction, and the 0.5 continuity correction
 *   unless `useContinuity` is false.
 *
 * Degenerate input: when every value is equal the asymptotic variance is 0; scipy gives p = 1
 * with the continuity correction and NaN without it. We return p = 1 in both cases (no
 * evidence of a difference).
 *
 * @throws ValidationError when a sample is empty or holds a non-finite value.
 */
export function mannWhitneyU(
  a: Float64Array,
  b: Float64Array,
  opts: { method?: MannWhitneyMethod; useContinuity?: boolean } = {},
): TestResult {
  requireSample(a, 'a');
  requireSample(b, 'b');
  const n1 = a.length;
  const n2 = b.length;
  const groups = tieGroups(sortedCopy(a), sortedCopy(b));

  // Midranks are half-integers, so R1 is exact in doubles.
  let r1 = 0;
  let before = 0;
  let tieTerm = 0;
  let hasTies = false;
  for (let g = 0; g < groups.count; g++) {
    const fromA = groups.fromA[g] as number;
    const size = fromA + (groups.fromB[g] as number);
    r1 += fromA * (before + 1 + (size - 1) / 2);
    before += size;
    if (size > 1) {
      hasTies = true;
      tieTerm += size ** 3 - size;
    }
  }
  const u1 = r1 - (n1 * (n1 + 1)) / 2;
  const u2 = n1 * n2 - u1;
  const u = Math.max(u1, u2);

  let method = opts.method ?? 'auto';
  if (method === 'auto') method = (n1 > 8 && n2 > 8) || hasTies ? 'asymptotic' : 'exact';

  let p = NaN;
  if (method === 'exact') p = 2 * exactSf(Math.trunc(u), n1, n2);
  // Counts beyond double range (only for an explicit 'exact' on large samples, C(n1+n2, n1)
  // > 1.8e308): scipy's result is not finite there either; the normal approximation is the
  // meaningful answer.
  if (method === 'asymptotic' || !Number.isFinite(p)) {
    const n = n1 + n2;
    const s = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
    let numerator = u - (n1 * n2) / 2;
    if (opts.useContinuity ?? true) numerator -= 0.5;
    p = s === 0 ? 1 : 2 * normalSf(numerator / s);
  }
  return { statistic: u1, pValue: Math.min(Math.max(p, 0), 1) };
}

/**
 * Pr(U ≥ k) under the null, as scipy's `_MWU.sf`: by symmetry the lower tail up to
 * n1·n2 − k, summed in scipy's order (cumulative sum of pmf = count / C(n1+n2, n1)).
 */
function exactSf(k: number, n1: number, n2: number): number {
  const kc = n1 * n2 - k;
  const total = binomial(n1 + n2, Math.min(n1, n2));
  // Beyond double range the pmf is 0/∞: report "no exact answer" before doing the work.
  if (!Number.isFinite(total)) return NaN;
  const counts = uCounts(Math.min(n1, n2), Math.max(n1, n2), Math.max(k, kc));
  const cdf = (upTo: number): number => {
    let sum = 0;
    for (let u = 0; u <= upTo; u++) sum += (counts[u] as number) / total;
    return sum;
  };
  if (k < kc) return 1 - cdf(k) + (counts[k] as number) / total;
  return cdf(kc);
}

/**
 * Number of arrangements with U = u, for u = 0 … maxu: the coefficients of the Gaussian
 * binomial Π_{i=1}^{m} (1 − q^{n+i}) / (1 − q^i) (partitions of u into at most m parts of size
 * at most n). O(m · maxu), against the O(maxu²) of scipy's recurrence, so that an 8-value
 * sample against a large one stays fast; the counts are the same integers (exact below 2^53).
 */
function uCounts(m: number, n: number, maxu: number): Float64Array {
  const c = new Float64Array(maxu + 1);
  c[0] = 1;
  for (let i = 1; i <= m; i++) {
    // Divide by (1 − q^i): a running sum with stride i.
    for (let u = i; u <= maxu; u++) c[u] = (c[u] as number) + (c[u - i] as number);
    // Multiply by (1 − q^{n+i}); descending so that c[u − n − i] is still the old value.
    const shift = n + i;
    for (let u = maxu; u >= shift; u--) c[u] = (c[u] as number) - (c[u - shift] as number);
  }
  return c;
}

/** C(n, k) by scipy's multiplicative formula for integer arguments (xsf `binom`). */
function binomial(n: number, k0: number): number {
  const k = k0 > n / 2 ? n - k0 : k0;
  let num = 1;
  let den = 1;
  for (let i = 1; i <= k; i++) {
    num *= i + n - k;
    den *= i;
    if (Math.abs(num) > 1e50) {
      num /= den;
      den = 1;
    }
  }
  return num / den;
}
