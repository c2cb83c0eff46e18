/**
 * The pooled order of two sorted samples as runs of equal values ("tie groups"), which is all
 * the rank tests need: midranks (scipy's `rankdata(method='average')`) and tie counts follow
 * from each group's start and size. One O(n1 + n2) merge instead of an argsort of the pool.
 */

/** Equal values of the pooled sample, in increasing order. */
export interface TieGroups {
  /** Number of groups. */
  count: number;
  /** Per group: how many values come from the first sample. */
  fromA: Int32Array;
  /** Per group: how many values come from the second sample. */
  fromB: Int32Array;
  /** Per group: the tied value. */
  value: Float64Array;
}

/** Groups the pooled values of two ascending-sorted samples. */
export function tieGroups(x: Float64Array, y: Float64Array): TieGroups {
  const n1 = x.length;
  const n2 = y.length;
  const fromA = new Int32Array(n1 + n2);
  const fromB = new Int32Array(n1 + n2);
  const value = new Float64Array(n1 + n2);
  let count = 0;
  let i = 0;
  let j = 0;
  while (i < n1 || j < n2) {
    const xi = i < n1 ? (x[i] as number) : Infinity;
    const yj = j < n2 ? (y[j] as number) : Infinity;
    const v = xi <= yj ? xi : yj;
    const i0 = i;
    const j0 = j;
    while (i < n1 && x[i] === v) i++;
    while (j < n2 && y[j] === v) j++;
    fromA[count] = i - i0;
    fromB[count] = j - j0;
    value[count] = v;
    count++;
  }
  return { count, fromA, fromB, value };
}
