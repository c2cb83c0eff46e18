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
 * How a window is binned on the padded reference edges (SPEC section 4):
 * - `reference` (default): as the reference histogram bins its own values — bins are
 *   `[e_i, e_{i+1})`, except that a value equal to the reference maximum (the upper real edge)
 *   falls in the last real bin, where numpy's closed last bin put it in the reference;
 * - `mlrun`: as the peer counts, `np.histogram(values, bins=padded_edges)` — a value equal to the
 *   reference maximum falls in the upper padding bin, so an integer feature at its maximum looks
 *   drifted on traffic identical to the training set.
 */
export type WindowBinning = 'reference' | 'mlrun';

/** Every {@link WindowBinning}, the default first. */
export const WINDOW_BINNINGS: readonly WindowBinning[] = ['reference', 'mlrun'];

/** Window counts on the padded reference edges (rule `reference`), with the values at the reference maximum. */
export interface WindowCounts {
  counts: number[];
  /** Values equal to the reference maximum (counted in the last real bin). */
  atMax: number;
}

/**
 * The bin of one window value on padded reference edges `[-MAX, e_0, …, e_k, MAX]` (see
 * {@link checkReferenceEdges}), by the `reference` rule of {@link WindowBinning}: `[e_i, e_{i+1})`,
 * a value equal to the reference maximum e_k in the last real bin, MAX in the upper padding bin.
 * -1 for NaN and ±Infinity. The one implementation of window binning: the stream processor counts
 * with it at ingest, and window stats from rows do through {@link countOnReferenceEdges}.
 */
export function referenceBin(edges: readonly number[], x: number): number {
  const nBins = edges.length - 1;
  // `!(a <= x)` also rejects NaN.
  if (!((edges[0] as number) <= x && x <= (edges[nBins] as number))) return -1;
  if (x === edges[nBins - 1]) return nBins - 2;
  if (x === edges[nBins]) return nBins - 1;
  return upperBound(edges, x) - 1;
}

/**
 * Counts window values on padded reference edges by the `reference` rule (see
 * {@link referenceBin}), and how many equal the reference maximum. NaN and ±Infinity are not
 * counted.
 *
 * @throws ValidationError when the edges are not padded reference edges.
 */
export function countOnReferenceEdges(edges: readonly number[], values: ArrayLike<number>): WindowCounts {
  checkReferenceEdges(edges);
  const counts = new Array<number>(edges.length - 1).fill(0);
  const maxEdge = edges[edges.length - 2];
  let atMax = 0;
  for (let k = 0; k < values.length; k++) {
    const x = values[k] as number;
    const bin = referenceBin(edges, x);
    if (bin < 0) continue;
    counts[bin] = (counts[bin] as number) + 1;
    if (x === maxEdge) atMax++;
  }
  return { counts, atMax };
}

/**
 * Whether `edges` are padded reference edges, as {@link referenceHistogram} makes them: at least
 * one real bin between the padding bins, sorted ascending, first `-Number.MAX_VALUE` and last
 * `Number.MAX_VALUE`.
 */
export function isReferenceEdges(edges: readonly number[]): boolean {
  const n = edges.length;
  if (n < 4 || edges[0] !== -Number.MAX_VALUE || edges[n - 1] !== Number.MAX_VALUE) return false;
  // `!(a <= b)` also rejects NaN edges.
  for (let i = 1; i < n; i++) if (!((edges[i - 1] as number) <= (edges[i] as number))) return false;
  return true;
}

/** @throws ValidationError unless {@link isReferenceEdges}. */
export function checkReferenceEdges(edges: readonly number[]): void {
  if (!isReferenceEdges(edges)) {
    throw new ValidationError(
      `reference histogram edges must be sorted, at least 4, and padded to -Number.MAX_VALUE and Number.MAX_VALUE (got ${edges.length} edges)`,
    );
  }
}

/**
 * Window counts under a binning rule, from counts made by the `reference` rule and the number of
 * values at the reference maximum: `reference` gives the counts as they are; `mlrun` moves those
 * values from the last real bin to the upper padding bin, which is exactly
 * `np.histogram(values, bins=padded_edges)`.
 *
 * @throws ValidationError when `atMax` is negative or more than the last real bin holds.
 */
export function countsUnder(binning: WindowBinning, counts: readonly number[], atMax: number): number[] {
  if (binning === 'reference' || atMax === 0) return [...counts];
  const last = counts.length - 2;
  const inLast = counts[last];
  if (last < 1 || inLast === undefined || !(atMax > 0 && atMax <= inLast)) {
    throw new ValidationError(`${atMax} values at the reference maximum do not fit the window counts (${inLast ?? 'no'} in the last real bin)`);
  }
  const out = [...counts];
  out[last] = inLast - atMax;
  out[last + 1] = (out[last + 1] as number) + atMax;
  return out;
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
