/**
 * Per-feature statistics of a table (SPEC section 1 step 2, section 4): reference stats
 * from a training set, and window ("current") stats counted on the reference bin edges.
 */
import type { FeatureStats, FeatureStatsMap } from '../common/types.ts';
import { countOnReferenceEdges, referenceHistogram } from './histogram.ts';
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
 * Counts a categorical feature's window values into the reference's categories plus one "other"
 * bucket (present values the reference never saw), as the stream processor does at ingest and
 * window stats from rows do: the number of buckets is bounded by the reference, whatever the
 * traffic. A value's category is its text as for the reference ({@link categoryKey}): a number
 * matches the category spelled the same (`8` and `'8'`), not `'08'` or `'8.0'`. Missing values
 * (as in {@link coerceValue}) are counted apart.
 */
export class CategoryCounter {
  /** Reference categories seen in the window, with their counts. */
  readonly seen = new Map<string, number>();
  /** Present values that are none of the reference's categories. */
  other = 0;
  /** Present values. */
  count = 0;
  missing = 0;

  constructor(private readonly reference: Readonly<Record<string, number>>) {}

  add(v: unknown): void {
    if (coerceValue(v) === MISSING) {
      this.missing++;
      return;
    }
    this.count++;
    const key = categoryKey(v);
    if (Object.hasOwn(this.reference, key)) this.seen.set(key, (this.seen.get(key) ?? 0) + 1);
    else this.other++;
  }

  /** The window stats (see {@link categoricalWindowStats}). */
  stats(): FeatureStats {
    return categoricalWindowStats(this.reference, this.seen, this.other, this.count, this.missing);
  }
}

/**
 * Window stats of a categorical feature from its counts: `categories` holds every reference
 * category in the reference's order (0 when absent from the window) and `other` the rest, counts
 * under a category the reference does not have (any more) included.
 */
export function categoricalWindowStats(
  reference: Readonly<Record<string, number>>,
  seen: ReadonlyMap<string, number>,
  other: number,
  count: number,
  missing: number,
): FeatureStats {
  const categories = new Map<string, number>();
  for (const key of Object.keys(reference)) categories.set(key, seen.get(key) ?? 0);
  let rest = other;
  for (const [key, n] of seen) if (!categories.has(key)) rest += n;
  return { count, missing, categories: Object.fromEntries(categories), other: rest };
}

/**
 * Statistics of current (window) data, comparable with the reference:
 * - the reference has a histogram → numeric summary plus counts on the reference edges (same
 *   edges array copied; {@link countOnReferenceEdges}: a value equal to the reference maximum in
 *   the last real bin, `hist.atMax` of them); present values that are not numbers are counted as
 *   missing, because the column's type is fixed by the reference;
 * - the reference is categorical → counts of the reference's categories plus `other`
 *   ({@link CategoryCounter});
 * - no usable reference for the column → {@link columnStats} without a histogram (a histogram
 *   on its own edges could not be compared with anything).
 * Reference columns absent from `columns` are absent from the result.
 *
 * @throws ValidationError when a reference histogram's edges are not padded reference edges.
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
      const { counts, atMax } = countOnReferenceEdges(edges, split.numbers);
      setOwn(out, name, numericStats(split, split.missing + split.others, { counts, edges, atMax }));
    } else if (ref?.categories) {
      const counter = new CategoryCounter(ref.categories);
      for (const v of values) counter.add(v);
      setOwn(out, name, counter.stats());
    } else {
      const stats = columnStats(values);
      delete stats.hist;
      setOwn(out, name, stats);
    }
  }
  return out;
}
