/**
 * Exact two-sided p-value of the two-sample Kolmogorov–Smirnov statistic, ported from scipy
 * (`_compute_prob_outside_square` in scipy/stats/_stats_py.py and
 * `_compute_outer_prob_inside_method` in scipy/stats/_stats_pythran.py), operation for
 * operation so that the floating-point results match scipy's.
 *
 * Both count monotone lattice paths from (0, 0) to (m, n) (Hodges 1958); the statistic is
 * D = h / lcm(m, n).
 */

/**
 * Pr(D_{n,n} ≥ h/n) for equal sample sizes: 2·(C(2n, n−h) − C(2n, n−2h) + …) / C(2n, n),
 * evaluated Horner-style on ratios of binomials to avoid the cancellation of the plain sum.
 * Requires n > 0 and 0 < h ≤ n.
 */
export function probOutsideSquare(n: number, h: number): number {
  let p = 0;
  let k = Math.floor(n / h);
  while (k >= 0) {
    let p1 = 1;
    // Each factor A_k is a ratio of h simple terms.
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    p = p1 * (1 - p);
    k -= 1;
  }
  return 2 * p;
}

/**
 * Proportion of lattice paths from (0, 0) to (m, n) that leave the band |x/m − y/n| < h/lcm,
 * i.e. Pr(D_{m,n} ≥ h/lcm(m, n)), with Viehmann's recursion for 1 − p ("inside method",
 * arXiv:2102.08037) so that small p-values keep their precision. g = gcd(m, n), 0 < h ≤ lcm.
 * Only a sliding window of one column of the path-count matrix is kept: O(m) memory.
 */
export function outerProbInside(m0: number, n0: number, g: number, h: number): number {
  // Symmetric in m, n; the computation takes m ≥ n.
  const m = Math.max(m0, n0);
  const n = Math.min(m0, n0);
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(lenA).fill(1);
  A.fill(0, minj, maxj);
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    // Entries are probabilities of the scaled counts, hence in [0, 1]: no overflow.
    let val = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = ((A[jj + minj - lastminj] as number) * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) {
      // Carried-over entries beyond the new window are paths already outside: probability 1.
      A.fill(1, maxj - minj, maxj - minj + (lastlen - curlen));
    }
  }
  return A[maxj - minj - 1] as number;
}
