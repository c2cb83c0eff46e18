/**
 * Two-sample Cramér–von Mises test, as `scipy.stats.cramervonmises_2samp` (SPEC section 4,
 * "also offered").
 */
import { besselK025 } from './bessel-k.ts';
import { numpySum } from './numpy-sum.ts';
import type { TestResult } from './test-result.ts';
import { tieGroups } from './ties.ts';
import { requireSample, sortedCopy } from './validate.ts';

/** 'auto' is exact when both samples have ≤ 20 values, as scipy. */
export type CramerVonMisesMethod = 'auto' | 'exact' | 'asymptotic';

/**
 * T = U/(nm(n+m)) − (4nm − 1)/(6(n+m)) with U from midranks (Anderson 1962), and its p-value:
 * exact (Xiao, Gordon & Yakovlev 2006: the null distribution of U over all placements, ties
 * not enumerated, as scipy) or asymptotic (the limiting one-sample distribution of the
 * normalized statistic).
 *
 * Where we differ from scipy:
 * - a sample of size 1 is "too small" for scipy (NaN). We return T and the exact permutation
 *   p-value of that single value's position, computed in O(n), whatever the method (the
 *   asymptotic variance is 0 for 1 + 1 values);
 * - an explicit 'exact' with more than 2^53 placements (C(n+m, n), e.g. 28 + 28 values) uses
 *   the asymptotic p-value: scipy would build its tables with big integers for a long time.
 *
 * @throws ValidationError when a sample is empty or holds a non-finite value.
 */
export function cramerVonMises2(
  a: Float64Array,
  b: Float64Array,
  opts: { method?: CramerVonMisesMethod } = {},
): TestResult {
  requireSample(a, 'a');
  requireSample(b, 'b');
  const nx = a.length;
  const ny = b.length;
  const xa = sortedCopy(a);
  const ya = sortedCopy(b);
  const { sumX, sumY } = rankDeviationSums(xa, ya);
  const u = nx * sumX + ny * sumY;
  const k = nx * ny;
  const N = nx + ny;
  const t = u / (k * N) - (4 * k - 1) / (6 * N);

  let method = opts.method ?? 'auto';
  if (nx === 1 || ny === 1) return { statistic: t, pValue: singletonPValue(u, nx, ny) };
  if (method === 'auto') method = Math.max(nx, ny) > 20 ? 'asymptotic' : 'exact';
  // The exact tables count paths in doubles: past 2^53 paths the counts are no longer exact
  // (and the tables huge); scipy would go on with big integers, we use the asymptotic form.
  if (method === 'exact' && binomialExact(N, nx) > Number.MAX_SAFE_INTEGER) method = 'asymptotic';
  const p = method === 'exact' ? exactPValue(u, nx, ny) : asymptoticPValue(t, N, nx, ny, k);
  return { statistic: t, pValue: p };
}

/**
 * Σ (r_i − i)² over the sorted first sample and Σ (s_j − j)² over the second, r and s their
 * midranks in the pool. Summed in scipy's order with numpy's pairwise sum: T subtracts two
 * nearly equal terms for large samples, so the rounding of these sums shows in T.
 */
function rankDeviationSums(x: Float64Array, y: Float64Array): { sumX: number; sumY: number } {
  const groups = tieGroups(x, y);
  const devX = new Float64Array(x.length);
  const devY = new Float64Array(y.length);
  let before = 0;
  let ix = 0;
  let iy = 0;
  for (let g = 0; g < groups.count; g++) {
    const fromA = groups.fromA[g] as number;
    const fromB = groups.fromB[g] as number;
    const size = fromA + fromB;
    const midrank = before + 1 + (size - 1) / 2;
    for (let c = 0; c < fromA; c++) {
      ix++;
      devX[ix - 1] = (midrank - ix) ** 2;
    }
    for (let c = 0; c < fromB; c++) {
      iy++;
      devY[iy - 1] = (midrank - iy) ** 2;
    }
    before += size;
  }
  return { sumX: numpySum(devX), sumY: numpySum(devY) };
}

/**
 * scipy's `_pval_cvm_2samp_exact`: frequency tables of the path statistic
 * ζ = Σ (a·v − b·u)² over monotone lattice paths (a = lcm/m, b = lcm/n), built column by
 * column; p = #{ζ ≥ ζ_obs} / C(m+n, m). ζ_obs comes from U with scipy's float floor division.
 */
function exactPValue(s: number, m: number, n: number): number {
  const lcm = (m / gcd(m, n)) * n;
  const a = lcm / m;
  const b = lcm / n;
  const mn = m * n;
  const zeta = floorDivide(lcm ** 2 * (m + n) * (6 * s - mn * (4 * mn - 1)), 6 * mn ** 2);
  const combinations = binomialExact(m + n, m);

  // gs[v]: value → number of paths reaching (u, v) with that partial statistic.
  let gs: Map<number, number>[] = [new Map([[0, 1]])];
  for (let v = 0; v < m; v++) gs.push(new Map());
  for (let u = 0; u <= n; u++) {
    const next: Map<number, number>[] = [];
    let tmp = new Map<number, number>();
    for (let v = 0; v <= m; v++) {
      // Paths into (u, v) come from (u, v−1) (tmp) and (u−1, v) (gs[v]).
      const merged = new Map(tmp);
      for (const [value, freq] of gs[v] as Map<number, number>) merged.set(value, (merged.get(value) ?? 0) + freq);
      const step = (a * v - b * u) ** 2;
      tmp = new Map();
      for (const [value, freq] of merged) tmp.set(value + step, freq);
      next.push(tmp);
    }
    gs = next;
  }
  let count = 0;
  for (const [value, freq] of gs[m] as Map<number, number>) if (value >= zeta) count += freq;
  return count / combinations;
}

/** numpy's float floor division (`npy_floor_divide` via divmod), for parity with scipy's `//`. */
function floorDivide(a: number, b: number): number {
  const mod = a % b;
  let div = (a - mod) / b;
  if (mod !== 0 && b < 0 !== mod < 0) div -= 1;
  if (div === 0) return 0 * (a / b);
  let floordiv = Math.floor(div);
  if (div - floordiv > 0.5) floordiv += 1;
  return floordiv;
}

/** C(n, k) exactly (BigInt), rounded to a double once, as Python's int → float. */
function binomialExact(n: number, k: number): number {
  let r = 1n;
  for (let i = 1; i <= k; i++) r = (r * BigInt(n - k + i)) / BigInt(i);
  return Number(r);
}

function gcd(a: number, b: number): number {
  let p = a;
  let q = b;
  while (q !== 0) [p, q] = [q, p % q];
  return p;
}

/**
 * scipy's `_pval_cvm_2samp_asymptotic`: normalize T by its exact mean and variance (Anderson
 * 1962, eq. 11, 14, 15) and use the limiting distribution; tn < 0.003 gives 1 directly.
 */
function asymptoticPValue(t: number, N: number, nx: number, ny: number, k: number): number {
  const et = (1 + 1 / N) / 6;
  let vt = (N + 1) * (4 * k * N - 3 * (nx ** 2 + ny ** 2) - 2 * k);
  vt = vt / (45 * N ** 2 * 4 * k);
  const tn = 1 / 6 + (t - et) / Math.sqrt(45 * vt);
  if (!(tn >= 0.003)) return 1;
  return Math.max(1 - cdfCvmInf(tn), 0);
}

/**
 * CDF of the limiting Cramér–von Mises distribution (Csörgő & Faraway 1996, eq. 1.3):
 * Σ_k Γ(k+½)/(Γ(k+1)·π^{3/2}·√x) · √(4k+1) · e^{−q} · K_{1/4}(q), q = (4k+1)²/(16x),
 * summed until a term falls below 1e-7 — scipy's truncation, kept so the numbers agree.
 */
export function cdfCvmInf(x: number): number {
  let total = 0;
  // Γ(k+½)/Γ(k+1), updated by the factor (k − ½)/k.
  let gammaRatio = Math.sqrt(Math.PI);
  for (let k = 0; ; k++) {
    if (k > 0) gammaRatio *= (k - 0.5) / k;
    const u = gammaRatio / (Math.PI ** 1.5 * Math.sqrt(x));
    const y = 4 * k + 1;
    const q = y ** 2 / (16 * x);
    const z = u * Math.sqrt(y) * Math.exp(-q) * besselK025(q);
    total += z;
    if (!(Math.abs(z) >= 1e-7)) return total;
  }
}

/**
 * Exact p-value when one sample has a single value (scipy: too small, NaN): that value's
 * position r among N is uniform under the null, and every position without ties gives
 * U(r) = (r−1)² + n·(N−r) in units where the other sample contributes n·Σ(s_j − j)²
 * (s_j − j is 1 for the n − (r − 1) values above it). p = #{r : U(r) ≥ U_obs} / N.
 */
function singletonPValue(u: number, nx: number, ny: number): number {
  const N = nx + ny;
  const n = N - 1;
  let count = 0;
  for (let r = 1; r <= N; r++) {
    const ur = (r - 1) ** 2 + n * (N - r);
    // U is a multiple of 1/4 with ties; compare with a tolerance far below that step.
    if (ur >= u - 1e-9 * Math.max(1, u)) count++;
  }
  return count / N;
}
