/**
 * Histograms with numpy's bin assignment (SPEC section 4, built-in histogram data-drift app).
 *
 * The reference histogram must match `np.histogram(values, bins=20)` bit for bit, because
 * reference stats computed by the peer and by us are compared side by side, and integer
 * columns put many values exactly on bin edges where a naive `floor` disagrees with numpy.
 */
import { ValidationError } from '../common/errors.ts';

/** Number of equal-width bins of the reference histogram, before padding. */
export const REFERENCE_BINS = 20;

/** A histogram: `counts[i]` values in `[edges[i], edges[i+1])`, the last bin closed on the right. */
export interface Histogram {
  counts: number[];
  edges: number[];
}

/**
 * The reference histogram of a numeric column: numpy's `np.histogram(values, bins=20)`,
 * then one padding bin each side out to ±`Number.MAX_VALUE` (22 bins, 23 edges, padding
 * counts 0), so that every finite current value has a bin.
 *
 * Empty input follows numpy (range (0, 1)): all counts 0, edges `linspace(0, 1, 21)` padded.
 * A constant column follows numpy too: range `[v - 0.5, v + 0.5]`.
 *
 * @throws ValidationError when a value is not finite (missing values must be removed first,
 *   as numpy refuses a non-finite range) or when max − min overflows to infinity.
 */
export function referenceHistogram(values: ArrayLike<number>): Histogram {
  const n = values.length;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = values[i] as number;
    if (!Number.isFinite(v)) {
      throw new ValidationError(`histogram values must be finite numbers, got ${String(v)} at index ${i}`);
    }
    if (v < min) min = v;
    if (v > max) max = v;
  }
  // numpy: empty -> (0, 1); constant -> widened by 0.5 each side.
  let first = n === 0 ? 0 : min;
  let last = n === 0 ? 1 : max;
  if (first === last) {
    first -= 0.5;
    last += 0.5;
  }
  const denom = last - first;
  if (!Number.isFinite(denom)) {
    throw new ValidationError(`histogram range [${first}, ${last}] is too wide to bin (max - min overflows)`);
  }
  const edges = linspace(first, last, REFERENCE_BINS + 1);
  const counts = new Array<number>(REFERENCE_BINS).fill(0);
  const lastBin = REFERENCE_BINS - 1;
  for (let i = 0; i < n; i++) {
    const x = values[i] as number;
    // Same expression and order as numpy >= 2: ((x - first) / denom) * n_bins, truncated.
    let idx = Math.trunc(((x - first) / denom) * REFERENCE_BINS);
    if (idx === REFERENCE_BINS) idx -= 1;
    // numpy then corrects the ~1 ulp error of the scaled index against the computed edges.
    if (x < (edges[idx] as number)) idx -= 1;
    if (idx !== lastBin && x >= (edges[idx + 1] as number)) idx += 1;
    counts[idx] = (counts[idx] as number) + 1;
  }
  return {
    counts: [0, ...counts, 0],
    edges: [-Number.MAX_VALUE, ...edges, Number.MAX_VALUE],
  };
}

/**
 * `np.linspace(start, stop, num)` for num >= 2: `i * step + start`, last value exactly `stop`.
 * numpy falls back to `(i / div) * delta` when the step underflows to 0; kept for parity.
 */
export function linspace(start: number, stop: number, num: number): number[] {
  const div = num - 1;
  const delta = stop - start;
  const step = delta / div;
  const out = new Array<number>(num);
  for (let i = 0; i < num; i++) {
    out[i] = step === 0 ? (i / div) * delta + start : i * step + start;
  }
  out[num - 1] = stop;
  return out;
}

/**
 * Counts `values` on given (monotonically non-decreasing, possibly non-uniform) edges, as
 * `np.histogram(values, bins=edges)`: bin i is `[edges[i], edges[i+1])`, only the last bin is
 * closed on the right. With padded reference edges a value equal to the reference maximum is
 * therefore counted in the upper padding bin.
 *
 * Values outside `[edges[0], edges[last]]` and NaN are not counted (numpy does the same);
 * with ±`Number.MAX_VALUE` outer edges that leaves out only NaN and ±Infinity.
 *
 * @param into optional running counts (length `edges.length - 1`) to add to, for streaming
 *   histograms; returned as is after the update.
 * @throws ValidationError when edges are fewer than 2, not sorted, or `into` has the wrong length.
 */
export function countOnEdges(edges: readonly number[], values: ArrayLike<number>, into?: number[]): number[] {
  const nEdges = edges.length;
  if (nEdges < 2) throw new ValidationError(`histogram needs at least 2 edges, got ${nEdges}`);
  for (let i = 1; i < nEdges; i++) {
    // `!(a <= b)` also rejects NaN edges.
    if (!((edges[i - 1] as number) <= (edges[i] as number))) {
      throw new ValidationError(`histogram edges must be sorted ascending (index ${i})`);
    }
  }
  const nBins = nEdges - 1;
  const counts = into ?? new Array<number>(nBins).fill(0);
  if (counts.length !== nBins) {
    throw new ValidationError(`counts length ${counts.length} does not match ${nBins} bins`);
  }
  const lastEdge = edges[nEdges - 1] as number;
  for (let k = 0; k < values.length; k++) {
    const x = values[k] as number;
    // NaN compares false with everything, so it has to be skipped explicitly.
    if (Number.isNaN(x) || x < (edges[0] as number) || x > lastEdge) continue;
    const bin = x === lastEdge ? nBins - 1 : upperBound(edges, x) - 1;
    counts[bin] = (counts[bin] as number) + 1;
  }
  return counts;
}

/** First index whose edge is > x (numpy's searchsorted side='right'). */
function upperBound(edges: readonly number[], x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((edges[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
