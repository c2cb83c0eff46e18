/**
 * Binning for drift measures on shares (SPEC section 4): Sturges and fixed-count bin edges
 * exactly as numpy computes them, bin counts exactly as `np.histogram(x, bins=edges)`
 * assigns values (many real columns are integers sitting exactly on edges), and one bin per
 * distinct value.
 *
 * Counting works on sorted arrays where it can (a count per bin is two binary searches), so
 * a report that sorts each column once bins it in O(bins · log n).
 */
import { ValidationError } from '../common/errors.ts';
import { linspace } from './histogram.ts';

/**
 * Outer edges as numpy's `_get_outer_edges` without a range: (0, 1) for no data, the data's
 * min and max otherwise, widened by 0.5 each side when they are equal.
 *
 * @throws ValidationError when min or max is not finite.
 */
export function outerEdges(min: number, max: number, n: number): [number, number] {
  if (n === 0) return [0, 1];
  if (!Number.isFinite(min) || !Number.isFinite(max)) {
    throw new ValidationError(`autodetected range of [${min}, ${max}] is not finite`);
  }
  return min === max ? [min - 0.5, max + 0.5] : [min, max];
}

/**
 * The number of bins numpy's `histogram_bin_edges(x, bins='sturges')` makes for `n` values
 * spanning [min, max]: width = ptp / (log2(n) + 1) (at least 1 when the data has an integer
 * dtype), bins = ceil((last − first) / width); 1 bin for no data or a zero width.
 *
 * @param integerDtype the data would be an integer numpy array (no missing values, every
 *   value whole): numpy then raises a width below 1 to 1.
 */
export function sturgesBinCount(min: number, max: number, n: number, integerDtype = false): number {
  if (n === 0) return 1;
  const [first, last] = outerEdges(min, max, n);
  let width = (max - min) / (Math.log2(n) + 1);
  if (width === 0 || Number.isNaN(width)) return 1;
  if (integerDtype && width < 1) width = 1;
  return Math.ceil((last - first) / width);
}

/**
 * `np.histogram_bin_edges(x, bins='sturges')` for `n` values spanning [min, max] (pass the
 * min and max of reference ∪ current, and n = their total count).
 *
 * @throws ValidationError when the range is not finite or too narrow for the bins.
 */
export function sturgesEdges(min: number, max: number, n: number, integerDtype = false): Float64Array {
  return equalWidthEdges(min, max, n, sturgesBinCount(min, max, n, integerDtype));
}

/**
 * `np.histogram_bin_edges(x, bins=nBins)` (fixed-count binning) for `n` values spanning
 * [min, max]: `linspace(first, last, nBins + 1)` on numpy's outer edges.
 *
 * @throws ValidationError when nBins < 1, the range is not finite, or the edges are not
 *   strictly increasing (numpy: "Too many bins for data range").
 */
export function equalWidthEdges(min: number, max: number, n: number, nBins: number): Float64Array {
  if (!Number.isInteger(nBins) || nBins < 1) throw new ValidationError(`bins must be a whole number >= 1, got ${nBins}`);
  const [first, last] = outerEdges(min, max, n);
  const edges = Float64Array.from(linspace(first, last, nBins + 1));
  for (let i = 1; i < edges.length; i++) {
    if (!((edges[i - 1] as number) < (edges[i] as number))) {
      throw new ValidationError(`too many bins for data range: cannot create ${nBins} finite-sized bins`);
    }
  }
  return edges;
}

/** First index in `sorted[lo, hi)` whose value is >= x (numpy `searchsorted(side='left')`). */
export function lowerBound(sorted: ArrayLike<number>, x: number, lo = 0, hi = sorted.length): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index in `sorted[lo, hi)` whose value is > x (numpy `searchsorted(side='right')`). */
export function upperBound(sorted: ArrayLike<number>, x: number, lo = 0, hi = sorted.length): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * `np.histogram(sorted, bins=edges)[0]` for ascending `sorted` values and ascending edges:
 * bin i holds `[edges[i], edges[i+1])`, the last bin also its right edge; values outside the
 * edges are not counted. Two binary searches per edge, so O(edges · log n).
 *
 * @throws ValidationError for fewer than 2 edges.
 */
export function countSortedOnEdges(sorted: Float64Array, edges: ArrayLike<number>): Float64Array {
  const nEdges = edges.length;
  if (nEdges < 2) throw new ValidationError(`histogram needs at least 2 edges, got ${nEdges}`);
  const counts = new Float64Array(nEdges - 1);
  let prev = lowerBound(sorted, edges[0] as number);
  for (let i = 1; i < nEdges; i++) {
    const e = edges[i] as number;
    const at = i === nEdges - 1 ? upperBound(sorted, e, prev) : lowerBound(sorted, e, prev);
    counts[i - 1] = at - prev;
    prev = at;
  }
  return counts;
}

/**
 * Counts unsorted values on equal-width edges as numpy's fast path does: the index is the
 * scaled value `trunc((x − first) / (last − first) · bins)`, then corrected by one against
 * the computed edges; the last bin is closed. Values outside [first, last] and NaN are not
 * counted. Same counts as {@link countSortedOnEdges} on the sorted values.
 *
 * @param edges equal-width edges from {@link sturgesEdges} or {@link equalWidthEdges}.
 * @param into running counts (length `edges.length − 1`) to add to.
 */
export function countOnEqualWidthEdges(values: ArrayLike<number>, edges: Float64Array, into?: Float64Array): Float64Array {
  const nBins = edges.length - 1;
  if (nBins < 1) throw new ValidationError(`histogram needs at least 2 edges, got ${edges.length}`);
  const counts = into ?? new Float64Array(nBins);
  if (counts.length !== nBins) throw new ValidationError(`counts length ${counts.length} does not match ${nBins} bins`);
  const first = edges[0] as number;
  const last = edges[nBins] as number;
  const denom = last - first;
  const lastBin = nBins - 1;
  for (let i = 0; i < values.length; i++) {
    const x = values[i] as number;
    if (!(x >= first && x <= last)) continue;
    let idx = Math.trunc(((x - first) / denom) * nBins);
    if (idx === nBins) idx = lastBin;
    if (x < (edges[idx] as number)) idx -= 1;
    if (idx !== lastBin && x >= (edges[idx + 1] as number)) idx += 1;
    counts[idx] = (counts[idx] as number) + 1;
  }
  return counts;
}

/** Number of distinct values of an ascending array (−0 and +0 are one value, as in numpy). */
export function countDistinctSorted(sorted: Float64Array): number {
  const n = sorted.length;
  if (n === 0) return 0;
  let distinct = 1;
  let prev = sorted[0] as number;
  for (let i = 1; i < n; i++) {
    const v = sorted[i] as number;
    if (v !== prev) {
      distinct++;
      prev = v;
    }
  }
  return distinct;
}

/**
 * Number of distinct values of a ∪ b for two ascending arrays, stopping early once it
 * exceeds `stopAbove` (method selection only needs to know "more than 5").
 */
export function countDistinctUnion(a: Float64Array, b: Float64Array, stopAbove = Infinity): number {
  let i = 0;
  let j = 0;
  let distinct = 0;
  const na = a.length;
  const nb = b.length;
  while (i < na || j < nb) {
    const x = i < na ? (a[i] as number) : Infinity;
    const y = j < nb ? (b[j] as number) : Infinity;
    const v = x <= y ? x : y;
    // Skip this value in both arrays (runs of ties are usually short: a linear step).
    while (i < na && a[i] === v) i++;
    while (j < nb && b[j] === v) j++;
    distinct++;
    if (distinct > stopAbove) return distinct;
  }
  return distinct;
}

/** One bin per distinct value of reference ∪ current, with the count of each side. */
export interface DistinctBins {
  /** Distinct values, ascending. */
  values: Float64Array;
  reference: Float64Array;
  current: Float64Array;
}

/**
 * One bin per distinct value of reference ∪ current (both ascending), as Evidently bins
 * numeric columns with few distinct values and categorical columns.
 */
export function distinctBins(reference: Float64Array, current: Float64Array): DistinctBins {
  const total = countDistinctUnion(reference, current);
  const values = new Float64Array(total);
  const ref = new Float64Array(total);
  const cur = new Float64Array(total);
  let i = 0;
  let j = 0;
  for (let k = 0; k < total; k++) {
    const x = i < reference.length ? (reference[i] as number) : Infinity;
    const y = j < current.length ? (current[j] as number) : Infinity;
    const v = x <= y ? x : y;
    values[k] = v;
    const i0 = i;
    const j0 = j;
    while (i < reference.length && reference[i] === v) i++;
    while (j < current.length && current[j] === v) j++;
    ref[k] = i - i0;
    cur[k] = j - j0;
  }
  return { values, reference: ref, current: cur };
}

/** Counts divided by `total` (shares; all 0 when total is 0). */
export function toShares(counts: ArrayLike<number>, total: number): Float64Array {
  const out = new Float64Array(counts.length);
  if (total === 0) return out;
  for (let i = 0; i < counts.length; i++) out[i] = (counts[i] as number) / total;
  return out;
}
