/**
 * k-sample Anderson–Darling test, as `scipy.stats.anderson_ksamp(samples, midrank=True)`
 * (Scholz & Stephens 1987), SPEC section 4 "also offered".
 */
import { ValidationError } from '../../common/errors.ts';
import { numpySum } from './numpy-sum.ts';
import type { TestResult } from './test-result.ts';
import { requireSample, sortedCopy } from './validate.ts';

/** Anderson–Darling result: scipy's p-value is interpolated and clipped to [0.001, 0.25]. */
export interface AndersonResult extends TestResult {
  /** Critical values for significance levels 25%, 10%, 5%, 2.5%, 1%, 0.5%, 0.1%. */
  criticalValues: number[];
  /**
   * True when the p-value is a bound rather than an interpolation: 0.25 means "at least
   * 0.25" (statistic below every critical value), 0.001 means "at most 0.001".
   */
  pValueCapped: boolean;
}

const SIG = [0.25, 0.1, 0.05, 0.025, 0.01, 0.005, 0.001];
// Interpolation coefficients from Table 2 of Scholz & Stephens (1987).
const B0 = [0.675, 1.281, 1.645, 1.96, 2.326, 2.573, 3.085];
const B1 = [-0.245, 0.25, 0.678, 1.149, 1.822, 2.364, 3.615];
const B2 = [-0.105, -0.305, -0.362, -0.391, -0.396, -0.345, -0.154];

/**
 * The standardized statistic (A²akN − (k − 1)) / σ with midranks for ties, critical values,
 * and scipy's p-value: exp of a quadratic fitted to log(significance) over the critical values,
 * floored at 0.001 above the largest and capped at 0.25 below the smallest.
 *
 * Degenerate input, where scipy raises (one distinct value overall) or returns NaN (fewer than
 * 4 values in all, where σ² is undefined): statistic 0 and p = 0.25, capped — no evidence of
 * a difference.
 *
 * @throws ValidationError for fewer than two samples, or an empty or non-finite sample.
 */
export function andersonKSamp(samples: readonly Float64Array[]): AndersonResult {
  const k = samples.length;
  if (k < 2) throw new ValidationError(`anderson-darling needs at least two samples, got ${k}`);
  samples.forEach((s, i) => requireSample(s, `samples[${i}]`));
  const m = k - 1;
  const criticalValues = B0.map((b0, i) => b0 + (B1[i] as number) / Math.sqrt(m) + (B2[i] as number) / m);

  const sorted = samples.map(sortedCopy);
  const n = sorted.map((s) => s.length);
  const N = n.reduce((sum, len) => sum + len, 0);
  const pooled = new Float64Array(N);
  let offset = 0;
  for (const s of sorted) {
    pooled.set(s, offset);
    offset += s.length;
  }
  pooled.sort();
  const distinct = distinctRuns(pooled);
  if (distinct.values.length < 2 || N < 4) {
    return { statistic: 0, pValue: 0.25, criticalValues, pValueCapped: true };
  }

  const a2akn = midrankStatistic(sorted, n, N, distinct);
  const sigmasq = varianceOfStatistic(n, N, k);
  const statistic = (a2akn - m) / Math.sqrt(sigmasq);

  const minCritical = Math.min(...criticalValues);
  const maxCritical = Math.max(...criticalValues);
  if (statistic < minCritical) return { statistic, pValue: 0.25, criticalValues, pValueCapped: true };
  if (statistic > maxCritical) return { statistic, pValue: 0.001, criticalValues, pValueCapped: true };
  const coeffs = polyfit2(criticalValues, SIG.map(Math.log));
  const pValue = Math.exp(((coeffs[0] as number) * statistic + (coeffs[1] as number)) * statistic + (coeffs[2] as number));
  return { statistic, pValue, criticalValues, pValueCapped: false };
}

interface DistinctRuns {
  values: Float64Array;
  /** Index of each value's first occurrence in the pooled sorted sample. */
  first: Float64Array;
  /** How many times each value occurs. */
  count: Float64Array;
}

function distinctRuns(sorted: Float64Array): DistinctRuns {
  const values: number[] = [];
  const first: number[] = [];
  const count: number[] = [];
  for (let i = 0; i < sorted.length; ) {
    const v = sorted[i] as number;
    let j = i + 1;
    while (j < sorted.length && sorted[j] === v) j++;
    values.push(v);
    first.push(i);
    count.push(j - i);
    i = j;
  }
  return { values: Float64Array.from(values), first: Float64Array.from(first), count: Float64Array.from(count) };
}

/** scipy's `_anderson_ksamp_midrank`, term for term (sums in numpy's order). */
function midrankStatistic(sorted: Float64Array[], n: number[], N: number, distinct: DistinctRuns): number {
  const L = distinct.values.length;
  const bj = new Float64Array(L);
  for (let j = 0; j < L; j++) bj[j] = (distinct.first[j] as number) + (distinct.count[j] as number) / 2;
  const inner = new Float64Array(L);
  let a2akn = 0;
  sorted.forEach((s, i) => {
    const ni = n[i] as number;
    // Walk the sample alongside the distinct values: right = #{s ≤ z_j}, f = #{s = z_j}.
    let right = 0;
    for (let j = 0; j < L; j++) {
      const z = distinct.values[j] as number;
      const left = right;
      while (right < s.length && (s[right] as number) <= z) right++;
      const fij = right - left;
      const mij = right - fij / 2;
      const lj = distinct.count[j] as number;
      const b = bj[j] as number;
      inner[j] = ((lj / N) * (N * mij - b * ni) ** 2) / (b * (N - b) - (N * lj) / 4);
    }
    a2akn += numpySum(inner) / ni;
  });
  return a2akn * ((N - 1) / N);
}

/** Variance of A²akN under the null (Scholz & Stephens, eq. 4), in scipy's arithmetic. */
function varianceOfStatistic(n: number[], N: number, k: number): number {
  const H = numpySum(n.map((ni) => 1 / ni));
  // hs_cs = cumsum(1 / [N−1, N−2, …, 2]); h = hs_cs[-1] + 1; g = Σ hs_cs[i] / (i + 2)
  const hsCs = new Float64Array(Math.max(N - 2, 0));
  let running = 0;
  for (let i = 0; i < N - 2; i++) {
    running += 1 / (N - 1 - i);
    hsCs[i] = running;
  }
  const h = (hsCs[N - 3] as number) + 1;
  const ratios = new Float64Array(N - 2);
  for (let i = 0; i < N - 2; i++) ratios[i] = (hsCs[i] as number) / (i + 2);
  const g = numpySum(ratios);

  const a = (4 * g - 6) * (k - 1) + (10 - 6 * g) * H;
  const b = (2 * g - 4) * k ** 2 + 8 * h * k + (2 * g - 14 * h - 4) * H - 8 * h + 4 * g - 6;
  const c = (6 * h + 2 * g - 2) * k ** 2 + (4 * h - 4 * g + 6) * k + (2 * h - 6) * H + 4 * h;
  const d = (2 * h + 6) * k ** 2 - 4 * h * k;
  // N³ exceeds 2^53 for N > 208063: round the exact integer once, as Python's int → float.
  const N3 = Number(BigInt(N) ** 3n);
  const N2 = N * N;
  return (a * N3 + b * N2 + c * N + d) / ((N - 1) * (N - 2) * (N - 3));
}

/**
 * Least-squares quadratic through (x, y), highest degree first, as `np.polyfit(x, y, 2)`:
 * columns of the Vandermonde matrix scaled to unit norm, then solved by Householder QR (numpy
 * uses an SVD; both give the least-squares solution of this well-conditioned 7 × 3 system).
 */
function polyfit2(x: number[], y: number[]): number[] {
  const rows = x.length;
  const cols = 3;
  const A = x.map((xi) => [xi * xi, xi, 1]);
  const scale = [0, 1, 2].map((c) => Math.sqrt(A.reduce((s, row) => s + (row[c] as number) ** 2, 0)));
  for (const row of A) for (let c = 0; c < cols; c++) row[c] = (row[c] as number) / (scale[c] as number);
  const rhs = y.slice();
  for (let c = 0; c < cols; c++) {
    // Householder reflection zeroing column c below the diagonal.
    let norm = 0;
    for (let r = c; r < rows; r++) norm += (A[r]?.[c] as number) ** 2;
    norm = Math.sqrt(norm);
    const diag = A[c]?.[c] as number;
    const alpha = diag > 0 ? -norm : norm;
    const v = new Array<number>(rows).fill(0);
    v[c] = diag - alpha;
    for (let r = c + 1; r < rows; r++) v[r] = A[r]?.[c] as number;
    const vv = v.reduce((s, vi) => s + vi * vi, 0);
    if (vv === 0) continue;
    for (let cc = c; cc < cols; cc++) {
      let dot = 0;
      for (let r = c; r < rows; r++) dot += (v[r] as number) * (A[r]?.[cc] as number);
      const f = (2 * dot) / vv;
      for (let r = c; r < rows; r++) (A[r] as number[])[cc] = (A[r]?.[cc] as number) - f * (v[r] as number);
    }
    let dot = 0;
    for (let r = c; r < rows; r++) dot += (v[r] as number) * (rhs[r] as number);
    const f = (2 * dot) / vv;
    for (let r = c; r < rows; r++) rhs[r] = (rhs[r] as number) - f * (v[r] as number);
  }
  // Back substitution on the upper-triangular 3 × 3 block, then undo the column scaling.
  const coef = new Array<number>(cols).fill(0);
  for (let c = cols - 1; c >= 0; c--) {
    let s = rhs[c] as number;
    for (let cc = c + 1; cc < cols; cc++) s -= (A[c]?.[cc] as number) * (coef[cc] as number);
    coef[c] = s / (A[c]?.[c] as number);
  }
  return coef.map((v, c) => v / (scale[c] as number));
}
