/**
 * Distances between two binned distributions (SPEC section 4: Jensen–Shannon is the default
 * for non-numeric or low-cardinality columns with a reference of more than 1000 rows; PSI, KL,
 * Hellinger and TVD are offered), with Evidently's and scipy's conventions.
 *
 * Every function takes counts or shares per bin/category and normalises each vector by its
 * sum: counts / Σcounts is exactly Evidently's counts / len(column) when every value has a bin.
 *
 * All throw ValidationError when the vectors differ in length, are empty, hold a negative or
 * non-finite entry, or have no mass (all zero: an empty column has no distribution).
 */
import { histogramDistances } from '../histogram-distance.ts';
import { numpySum } from './numpy-sum.ts';
import { requireFrequencies, requireSameLength } from './validate.ts';

/**
 * √(JS / 2) with JS = KL(p‖m) + KL(q‖m), m = (p + q)/2, natural log — scipy's
 * `spatial.distance.jensenshannon(p, q)`. Raw shares, no zero replacement.
 *
 * Differs from scipy by design in one place: rounding can make JS a hair below 0 for nearly
 * identical inputs, where scipy returns NaN (√ of a negative); we return 0.
 */
export function jensenShannonDistance(p: ArrayLike<number>, q: ArrayLike<number>): number {
  requireSameLength(p, q, 'jensen-shannon inputs');
  const ps = shares(p, 'p');
  const qs = shares(q, 'q');
  const left = new Float64Array(ps.length);
  const right = new Float64Array(ps.length);
  for (let i = 0; i < ps.length; i++) {
    const pi = ps[i] as number;
    const qi = qs[i] as number;
    const mi = (pi + qi) / 2;
    left[i] = relEntr(pi, mi);
    right[i] = relEntr(qi, mi);
  }
  const js = numpySum(left) + numpySum(right);
  return Math.sqrt(Math.max(js, 0) / 2);
}

/**
 * Population stability index Σ (r − c)·ln(r / c) over reference shares r and current shares c,
 * as Evidently's `psi` stattest: zero shares of each vector are replaced first (see
 * {@link fillZeroShares}).
 */
export function psi(reference: ArrayLike<number>, current: ArrayLike<number>): number {
  requireSameLength(reference, current, 'psi inputs');
  const r = fillZeroShares(shares(reference, 'reference'));
  const c = fillZeroShares(shares(current, 'current'));
  const terms = new Float64Array(r.length);
  for (let i = 0; i < r.length; i++) {
    const ri = r[i] as number;
    const ci = c[i] as number;
    terms[i] = (ri - ci) * Math.log(ri / ci);
  }
  return numpySum(terms);
}

/**
 * KL(reference ‖ current), natural log, as Evidently's `kl_div` stattest:
 * `scipy.stats.entropy(r, c)` on the zero-filled shares (entropy renormalises them).
 */
export function klDivergence(reference: ArrayLike<number>, current: ArrayLike<number>): number {
  requireSameLength(reference, current, 'kl inputs');
  const r = fillZeroShares(shares(reference, 'reference'));
  const c = fillZeroShares(shares(current, 'current'));
  const rSum = numpySum(r);
  const cSum = numpySum(c);
  const terms = new Float64Array(r.length);
  for (let i = 0; i < r.length; i++) terms[i] = relEntr((r[i] as number) / rSum, (c[i] as number) / cSum);
  return numpySum(terms);
}

/** Hellinger distance √(Σ (√p − √q)²) / √2 on shares, as Evidently's `hellinger` stattest (in [0, 1]). */
export function hellingerDistance(p: ArrayLike<number>, q: ArrayLike<number>): number {
  requireSameLength(p, q, 'hellinger inputs');
  const ps = shares(p, 'p');
  const qs = shares(q, 'q');
  const terms = new Float64Array(ps.length);
  for (let i = 0; i < ps.length; i++) terms[i] = (Math.sqrt(ps[i] as number) - Math.sqrt(qs[i] as number)) ** 2;
  return Math.sqrt(numpySum(terms)) / Math.SQRT2;
}

/**
 * Total variation distance Σ |p − q| / 2 on shares (in [0, 1]); the same measure as the
 * built-in histogram app's TVD, so it is computed by that code.
 */
export function totalVariationDistance(p: ArrayLike<number>, q: ArrayLike<number>): number {
  requireSameLength(p, q, 'tvd inputs');
  requireFrequencies(p, 'p');
  requireFrequencies(q, 'q');
  return histogramDistances(Array.from(p), Array.from(q)).tvd;
}

/**
 * Evidently's `get_binned_data(..., feel_zeroes=True)`: zero shares become 0.0001, or
 * (smallest non-zero share) / 10⁶ when that smallest share is itself ≤ 0.0001 — so the filler
 * stays below every real share. Each vector uses its own smallest share.
 */
export function fillZeroShares(values: Float64Array): Float64Array {
  let minNonZero = Infinity;
  for (const v of values) if (v !== 0 && v < minNonZero) minNonZero = v;
  const filler = minNonZero <= 0.0001 ? minNonZero / 10 ** 6 : 0.0001;
  return values.map((v) => (v === 0 ? filler : v));
}

/** Each entry divided by the vector's sum (numpy's summation order). */
function shares(values: ArrayLike<number>, name: string): Float64Array {
  requireFrequencies(values, name);
  const sum = numpySum(values);
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = (values[i] as number) / sum;
  return out;
}

/** scipy's `special.rel_entr`: x·ln(x/y), 0 when x = 0, ∞ when y = 0 < x. */
function relEntr(x: number, y: number): number {
  if (x > 0 && y > 0) return x * Math.log(x / y);
  if (x === 0 && y >= 0) return 0;
  return Infinity;
}
