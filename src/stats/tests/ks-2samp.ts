/**
 * Two-sample Kolmogorov–Smirnov test, two-sided, as `scipy.stats.ks_2samp` (SPEC section 4:
 * the default test for numeric columns with a reference of ≤ 1000 rows).
 */
import { outerProbInside, probOutsideSquare } from './ks-exact.ts';
import { kstwoSf } from './kolmogorov-n.ts';
import type { TestResult } from './test-result.ts';
import { requireSample, sortedCopy } from './validate.ts';

/** How the p-value is computed; 'auto' is exact when max(n1, n2) ≤ 10000, as scipy. */
export type KsMethod = 'auto' | 'exact' | 'asymp';

/** scipy's MAX_AUTO_N. */
const MAX_AUTO_N = 10000;
const INT32_MAX = 2147483647;

/**
 * D = sup |F_a − F_b| and its two-sided p-value.
 *
 * - exact: the lattice-path count for D = h/lcm(n1, n2) (the statistic is reported as that
 *   rounded ratio, as scipy does); falls back to asymp when the count is not a probability,
 *   and an explicit 'exact' whose lcm would exceed int32 goes to asymp too (scipy warns);
 * - asymp: `kstwo.sf(D, round(n1·n2/(n1+n2)))`.
 *
 * O((n1 + n2) log(n1 + n2)) for the statistic (two sorted copies and one merge). The exact
 * p-value is O(n) for equal sizes and O(max(n1, n2) · band width) otherwise (under a second
 * for the 10000-row 'auto' limit; an explicit 'exact' on larger unequal samples is as slow as
 * scipy's). The asymptotic one is O(1) except in the 2·Smirnov tail, O(n1·n2/(n1+n2)).
 *
 * @throws ValidationError when a sample is empty or holds a non-finite value.
 */
export function ks2samp(a: Float64Array, b: Float64Array, opts: { method?: KsMethod } = {}): TestResult {
  requireSample(a, 'a');
  requireSample(b, 'b');
  let mode: KsMethod = opts.method ?? 'auto';
  const x = sortedCopy(a);
  const y = sortedCopy(b);
  const n1 = x.length;
  const n2 = y.length;

  // cdf differences at every distinct value, with scipy's arithmetic: i/n1 − j/n2.
  let maxDiff = -Infinity;
  let minDiff = Infinity;
  let i = 0;
  let j = 0;
  while (i < n1 || j < n2) {
    const xi = i < n1 ? (x[i] as number) : Infinity;
    const yj = j < n2 ? (y[j] as number) : Infinity;
    const v = xi <= yj ? xi : yj;
    while (i < n1 && (x[i] as number) <= v) i++;
    while (j < n2 && (y[j] as number) <= v) j++;
    const diff = i / n1 - j / n2;
    if (diff > maxDiff) maxDiff = diff;
    if (diff < minDiff) minDiff = diff;
  }
  const minS = Math.min(Math.max(-minDiff, 0), 1);
  let d = minS > maxDiff ? minS : maxDiff;

  const g = gcd(n1, n2);
  const n1g = n1 / g;
  const n2g = n2 / g;
  if (mode === 'auto') {
    mode = Math.max(n1, n2) <= MAX_AUTO_N ? 'exact' : 'asymp';
  } else if (mode === 'exact' && n1g >= INT32_MAX / n2g) {
    mode = 'asymp';
  }

  let prob = NaN;
  if (mode === 'exact') {
    const lcm = n1g * n2;
    const h = roundHalfEven(d * lcm);
    d = h / lcm;
    if (h === 0) {
      prob = 1;
    } else {
      prob = n1 === n2 ? probOutsideSquare(n1, h) : outerProbInside(n1, n2, g, h);
      // Not a probability (rounding in extreme cases): scipy switches to the asymptotic form.
      if (!(prob >= 0 && prob <= 1)) mode = 'asymp';
    }
  }
  if (mode === 'asymp') {
    const m = Math.max(n1, n2);
    const n = Math.min(n1, n2);
    const en = (m * n) / (m + n);
    prob = kstwoSf(d, roundHalfEven(en));
  }
  return { statistic: d, pValue: Math.min(Math.max(prob, 0), 1) };
}

function gcd(a: number, b: number): number {
  let p = a;
  let q = b;
  while (q !== 0) [p, q] = [q, p % q];
  return p;
}

/** numpy's round: halves go to the even neighbour. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
