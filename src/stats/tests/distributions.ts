/**
 * Survival functions the tests turn statistics into p-values with. They follow scipy's
 * definitions (`special.chdtrc`, `special.ndtr(-z)`, `special.stdtr(df, -t)`) on top of
 * @stdlib's incomplete gamma / beta / erfc, which are accurate to a few ulps.
 */
import betainc from '@stdlib/math-base-special-betainc';
import erfc from '@stdlib/math-base-special-erfc';
import gammainc from '@stdlib/math-base-special-gammainc';
import { upperGammaLargeA } from './incomplete-gamma.ts';

// @stdlib's gammainc agrees with scipy to ~1e-13 below this shape, and loses digits above it.
const LARGE_SHAPE = 200;

/**
 * P(X > x) for X ~ χ²(k): the regularized upper incomplete gamma Q(k/2, x/2), as scipy's
 * `chdtrc(k, x)`. x < 0 gives 1 (as cephes); k ≤ 0 gives NaN (no such distribution).
 * For k ≥ 400 a dedicated large-shape evaluation is used (see incomplete-gamma.ts).
 */
export function chi2Sf(x: number, k: number): number {
  if (Number.isNaN(x) || Number.isNaN(k) || k <= 0) return NaN;
  if (x <= 0) return 1;
  if (x === Infinity) return 0;
  const a = k / 2;
  return a >= LARGE_SHAPE ? upperGammaLargeA(a, x / 2) : gammainc(x / 2, a, true, true);
}

/**
 * P(Z > z) for a standard normal Z, as scipy's `norm.sf` (= `ndtr(-z)`). Computed from erfc
 * directly, so that tiny tail probabilities keep their relative precision (1 − cdf would not).
 */
export function normalSf(z: number): number {
  if (Number.isNaN(z)) return NaN;
  return 0.5 * erfc(z * Math.SQRT1_2);
}

/**
 * P(T > t) for Student's t with `df` (> 0, not necessarily integer) degrees of freedom, as
 * scipy's `stdtr(df, -t)`. Uses P(|T| > |t|) = I_{df/(df+t²)}(df/2, 1/2) and passes the
 * incomplete beta whichever of x or 1 − x is small, so neither argument loses digits to
 * rounding. df = ∞ is the normal distribution.
 */
export function studentTSf(t: number, df: number): number {
  if (Number.isNaN(t) || Number.isNaN(df) || df <= 0) return NaN;
  if (df === Infinity) return normalSf(t);
  if (t === Infinity) return 0;
  if (t === -Infinity) return 1;
  if (t === 0) return 0.5;
  const t2 = t * t;
  // Two-sided tail P(|T| > |t|).
  const twoSided =
    t2 < df ? betainc(t2 / (df + t2), 0.5, df / 2, true, true) : betainc(df / (df + t2), df / 2, 0.5, true, false);
  const tail = 0.5 * twoSided;
  return t > 0 ? tail : 1 - tail;
}
