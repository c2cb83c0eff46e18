/**
 * numpy's summation order for `np.sum` of a contiguous float64 vector (pairwise, blocks of
 * 128 with 8 accumulators). Used where scipy's result depends on the rounding of a long sum
 * followed by cancellation (Cramér–von Mises, Anderson–Darling), so that we reproduce scipy's
 * numbers rather than merely approximate them.
 */

const BLOCK = 128;

/** `np.sum(values[start:start+length])` with numpy's pairwise algorithm, bit for bit. */
export function numpySum(values: ArrayLike<number>, start = 0, length = values.length - start): number {
  // The reduction starts from the identity 0, so a sum of negative zeros is +0 as in numpy.
  return length === 0 ? 0 : 0 + pairwise(values, start, length);
}

function pairwise(a: ArrayLike<number>, start: number, n: number): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[start + i] as number;
    return res;
  }
  if (n <= BLOCK) {
    let r0 = a[start] as number;
    let r1 = a[start + 1] as number;
    let r2 = a[start + 2] as number;
    let r3 = a[start + 3] as number;
    let r4 = a[start + 4] as number;
    let r5 = a[start + 5] as number;
    let r6 = a[start + 6] as number;
    let r7 = a[start + 7] as number;
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      const p = start + i;
      r0 += a[p] as number;
      r1 += a[p + 1] as number;
      r2 += a[p + 2] as number;
      r3 += a[p + 3] as number;
      r4 += a[p + 4] as number;
      r5 += a[p + 5] as number;
      r6 += a[p + 6] as number;
      r7 += a[p + 7] as number;
    }
    let res = r0 + r1 + (r2 + r3) + (r4 + r5 + (r6 + r7));
    for (; i < n; i++) res += a[start + i] as number;
    return res;
  }
  // Split in two halves, the first a multiple of the 8-way unroll.
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwise(a, start, n2) + pairwise(a, start + n2, n - n2);
}
