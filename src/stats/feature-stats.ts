/**
 * Per-feature statistics of a table (SPEC section 1 step 2, section 4): reference stats
 * from a training set, and window ("current") stats counted on the reference bin edges.
 */
import type { FeatureStats, FeatureStatsMap } from '../common/types.ts';
import { countOnEdges, referenceHistogram } from './histogram.ts';
import { summarize } from './summary.ts';
import { categoryKey, coerceValue, MISSING, OTHER } from './values.ts';

/** A column split into its finite numbers, its missing count and whether anything was not numeric. */
interface SplitColumn {
  numbers: Float64Array;
  missing: number;
  /** Present values that are not numbers (these make a column categorical). */
  others: number;
}

function splitColumn(values: readonly unknown[]): SplitColumn {
  const numbers = new Float64Array(values.length);
  let n = 0;
  let missing = 0;
  let others = 0;
  for (const v of values) {
    const c = coerceValue(v);
    if (c === MISSING) missing++;
    else if (c === OTHER) others++;
    else numbers[n++] = c;
  }
  return { numbers: numbers.subarray(0, n), missing, others };
}

function numericStats(split: SplitColumn, missing: number, hist: FeatureStats['hist']): FeatureStats {
  const stats: FeatureStats = { ...summarize(split.numbers), missing };
  if (hist) stats.hist = hist;
  return stats;
}

function categoricalStats(values: readonly unknown[]): FeatureStats {
  // A Map, then fromEntries (own data properties), so a category named `__proto__` is safe.
  const categories = new Map<string, number>();
  let count = 0;
  let missing = 0;
  for (const v of values) {
    if (coerceValue(v) === MISSING) {
      missing++;
      continue;
    }
    count++;
    const key = categoryKey(v);
    categories.set(key, (categories.get(key) ?? 0) + 1);
  }
  return { count, missing, categories: Object.fromEntries(categories) };
}

/** Sets a key as an own property, so that a column named `__proto__` cannot touch the prototype. */
function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Statistics of one column without a reference:
 * - numeric (every present value is a number, a boolean as 1/0, or a numeric string):
 *   count, missing, mean, sample std (ddof 1; absent below 2 values), min, max and the padded
 *   22-bin reference histogram;
 * - categorical (any present value is not numeric, e.g. `['1', 'a']`): count, missing and
 *   `categories` keyed by the value's text (numbers included, as `String(v)`);
 * - all missing (or empty): only `{ count: 0, missing }` — no type can be told, so no
 *   histogram, and the drift app leaves the feature out.
 */
export function columnStats(values: readonly unknown[]): FeatureStats {
  const split = splitColumn(values);
  if (split.others > 0) return categoricalStats(values);
  if (split.numbers.length === 0) return { count: 0, missing: split.missing };
  return numericStats(split, split.missing, referenceHistogram(split.numbers));
}

/**
 * Reference statistics of every column (see {@link columnStats} for the rules per column).
 * Missing values are null, undefined, empty/blank strings, NaN, ±Infinity and pandas' NA
 * tokens (`'NA'`, `'nan'`, `'null'`, ...); they are counted in `missing` and left out.
 */
export function computeFeatureStats(columns: Readonly<Record<string, readonly unknown[]>>): FeatureStatsMap {
  const out: FeatureStatsMap = {};
  for (const [name, values] of Object.entries(columns)) setOwn(out, name, columnStats(values));
  return out;
}

/**
 * Statistics of current (window) data, comparable with the reference:
 * - the reference has a histogram → numeric summary plus counts on the reference edges
 *   (same edges array copied); present values that are not numbers are counted as missing,
 *   because the column's type is fixed by the reference;
 * - the reference is categorical → category counts of the current values;
 * - no usable reference for the column → {@link columnStats} without a histogram (a histogram
 *   on its own edges could not be compared with anything).
 * Reference columns absent from `columns` are absent from the result.
 */
export function currentStatsOnReference(
  reference: Readonly<FeatureStatsMap>,
  columns: Readonly<Record<string, readonly unknown[]>>,
): FeatureStatsMap {
  const out: FeatureStatsMap = {};
  for (const [name, values] of Object.entries(columns)) {
    const ref = Object.hasOwn(reference, name) ? reference[name] : undefined;
    if (ref?.hist) {
      const split = splitColumn(values);
      const edges = [...ref.hist.edges];
      const hist = { counts: countOnEdges(edges, split.numbers), edges };
      setOwn(out, name, numericStats(split, split.missing + split.others, hist));
    } else if (ref?.categories) {
      setOwn(out, name, categoricalStats(values));
    } else {
      const stats = columnStats(values);
      delete stats.hist;
      setOwn(out, name, stats);
    }
  }
  return out;
}
