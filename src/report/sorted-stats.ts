/**
 * Statistics on columns that are already sorted, so that the report sorts each numeric
 * column once and shares it (the engine functions in `src/stats/tests` sort their own copies).
 * Each function here is tested against its engine or numpy counterpart.
 */
import { countSortedOnEdges } from '../stats/binning.ts';
import { histogramDistances, type HistogramDistances } from '../stats/histogram-distance.ts';
import { countOnReferenceEdges, linspace, REFERENCE_BINS, type Histogram } from '../stats/histogram.ts';

/**
 * Wasserstein-1 distance between two samples given sorted ascending, as scipy's
 * `wasserstein_distance(u, v)`: Σ |U(x_k) − V(x_k)| · (x_{k+1} − x_k) over the merged
 * values, with the same per-term arithmetic (`i/n − j/m`). One merge pass, no allocation.
 * 0 when either sample is empty.
 */
export function wassersteinSorted(u: Float64Array, v: Float64Array): number {
  const n = u.length;
  const m = v.length;
  if (n === 0 || m === 0) return 0;
  let i = 0;
  let j = 0;
  let sum = 0;
  let prev = Math.min(u[0] as number, v[0] as number);
  while (i < n && j < m) {
    const a = u[i] as number;
    const b = v[j] as number;
    const x = a <= b ? a : b;
    // Before taking x, i and j count the values ≤ prev (when x > prev; ties add 0).
    sum += Math.abs(i / n - j / m) * (x - prev);
    prev = x;
    if (a <= b) i++;
    else j++;
  }
  // One sample is used up: its CDF is 1 from here on.
  if (i < n) {
    const vc = 1;
    for (; i < n; i++) {
      const x = u[i] as number;
      sum += Math.abs(i / n - vc) * (x - prev);
      prev = x;
    }
  } else {
    const uc = 1;
    for (; j < m; j++) {
      const x = v[j] as number;
      sum += Math.abs(uc - j / m) * (x - prev);
      prev = x;
    }
  }
  return sum;
}

/**
 * Population standard deviation (numpy's `np.std`, ddof 0), two-pass with compensated
 * sums. NaN for an empty array (numpy warns and returns NaN).
 */
export function populationStd(values: Float64Array): number {
  const n = values.length;
  if (n === 0) return Number.NaN;
  let sum = 0;
  let c = 0;
  for (let i = 0; i < n; i++) {
    const x = values[i] as number;
    const t = sum + x;
    c += Math.abs(sum) >= Math.abs(x) ? sum - t + x : x - t + sum;
    sum = t;
  }
  const mean = (sum + c) / n;
  let sq = 0;
  let c2 = 0;
  for (let i = 0; i < n; i++) {
    const d = (values[i] as number) - mean;
    const x = d * d;
    const t = sq + x;
    c2 += sq >= x ? sq - t + x : x - t + sq;
    sq = t;
  }
  return Math.sqrt((sq + c2) / n);
}

/**
 * The built-in app's padded 22-bin reference histogram (`referenceHistogram` in
 * `stats/histogram.ts`, numpy's `histogram(bins=20)` padded to ±`Number.MAX_VALUE`) from
 * sorted finite values, by binary search instead of a pass over the values.
 */
export function referenceHistogramSorted(sorted: Float64Array): Histogram {
  const n = sorted.length;
  let first = n === 0 ? 0 : (sorted[0] as number);
  let last = n === 0 ? 1 : (sorted[n - 1] as number);
  if (first === last) {
    first -= 0.5;
    last += 0.5;
  }
  const edges = linspace(first, last, REFERENCE_BINS + 1);
  const counts = Array.from(countSortedOnEdges(sorted, edges));
  return { counts: [0, ...counts, 0], edges: [-Number.MAX_VALUE, ...edges, Number.MAX_VALUE] };
}

/**
 * The built-in app's measures (TVD, Hellinger, symmetric KL) of a current sample against a
 * reference (sorted), the current values counted on the reference edges as the app counts a window
 * by default (`countOnReferenceEdges`: a value equal to the reference maximum in the last real bin).
 */
export function histogramMeasuresSorted(reference: Float64Array, current: Float64Array): HistogramDistances & { reference: Histogram; currentCounts: number[] } {
  const ref = referenceHistogramSorted(reference);
  const currentCounts = countOnReferenceEdges(ref.edges, current).counts;
  return { ...histogramDistances(currentCounts, ref.counts), reference: ref, currentCounts };
}
