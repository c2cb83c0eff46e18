/**
 * Column typing for drift reports (SPEC section 4, data-drift report app): which columns are
 * numeric and which categorical, and the split of a raw column into its present values and
 * its missing count.
 *
 * Rules (Evidently's, on the values as they arrive):
 * - numeric: every present value is a finite number, a bigint or a plain decimal numeric
 *   string (see `values.ts`); typed arrays are numeric;
 * - categorical: any present value is something else — a non-numeric string, a boolean
 *   (numpy does not count `bool` as a number type), a date, an object;
 * - "binary" is not a type: a column of either type with at most 2 distinct values is
 *   tested with the two-proportion z-test by the default method rule, and numeric columns
 *   with 3–5 distinct values get chi-square (low-cardinality integers).
 *
 * Missing values (null, undefined, empty or NA-token strings, NaN, ±Infinity) are dropped
 * per column before any test and counted.
 */
import { ValidationError } from '../common/errors.ts';
import { categoryKey, coerceValue, MISSING, OTHER } from './values.ts';

/** The type of a report column. */
export type ColumnType = 'numeric' | 'categorical';

/** Column values as the report takes them: typed arrays (numeric) or arrays of cells. */
export type ColumnValues = Float64Array | Float32Array | Int32Array | Int16Array | Int8Array | Uint32Array | Uint16Array | Uint8Array | readonly unknown[];

/** The present numbers of a column and what was dropped. */
export interface NumericSplit {
  /** Finite values, in input order (a fresh array the caller owns). */
  values: Float64Array;
  /** Missing cells (null, empty, NaN, ±Infinity, NA tokens). */
  missing: number;
  /** Present cells that are not numbers, counted as missing when a column is forced numeric. */
  nonNumeric: number;
  /**
   * True when every present value is an integer and nothing was missing or non-numeric: the
   * column would have an integer dtype in numpy/pandas (see `binning.ts`, Sturges width).
   */
  integerDtype: boolean;
}

/** Category counts of a column. */
export interface CategoricalSplit {
  /** Count per category key (`categoryKey` of the value: strings as is, numbers as text). */
  counts: Map<string, number>;
  /** Present values. */
  total: number;
  missing: number;
}

/** True for typed arrays (always numeric columns). */
export function isTypedColumn(values: ColumnValues): values is Exclude<ColumnValues, readonly unknown[]> {
  return ArrayBuffer.isView(values);
}

/**
 * The type a column has on its own: `undefined` when it has no present value (nothing to
 * tell), else numeric or categorical by the rules above.
 */
export function columnTypeOf(values: ColumnValues): ColumnType | undefined {
  if (isTypedColumn(values)) {
    for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i] as number)) return 'numeric';
    return undefined;
  }
  let present = false;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'boolean') return 'categorical';
    const c = coerceValue(v);
    if (c === OTHER) return 'categorical';
    if (c !== MISSING) present = true;
  }
  return present ? 'numeric' : undefined;
}

/**
 * The report type of a column seen in the reference and the current data together: an
 * explicit override wins; otherwise numeric only when both sides are numeric (or empty),
 * categorical when either side is categorical. A column with no present value on either
 * side is numeric (it is then skipped for lack of data).
 */
export function inferColumnType(reference: ColumnValues, current: ColumnValues, override?: ColumnType): ColumnType {
  if (override !== undefined) return override;
  const r = columnTypeOf(reference);
  const c = columnTypeOf(current);
  return r === 'categorical' || c === 'categorical' ? 'categorical' : 'numeric';
}

/**
 * The finite numbers of a column (missing values dropped and counted). Present values that
 * are not numbers (only when a column is forced numeric) are dropped too and counted in
 * `nonNumeric`. Booleans count as 1/0.
 */
export function splitNumeric(values: ColumnValues): NumericSplit {
  const n = values.length;
  const out = new Float64Array(n);
  let k = 0;
  let integer = true;
  if (isTypedColumn(values)) {
    for (let i = 0; i < n; i++) {
      const v = values[i] as number;
      // Finite test as two comparisons: NaN fails both, ±Infinity fails one.
      if (v - v === 0) {
        out[k++] = v;
        if (integer && Math.floor(v) !== v) integer = false;
      }
    }
    const missing = n - k;
    return { values: out.subarray(0, k), missing, nonNumeric: 0, integerDtype: integer && missing === 0 && k > 0 };
  }
  let missing = 0;
  let nonNumeric = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    const c = typeof v === 'number' ? (v - v === 0 ? v : MISSING) : coerceValue(v);
    if (c === MISSING) missing++;
    else if (c === OTHER) nonNumeric++;
    else {
      out[k++] = c;
      if (integer && Math.floor(c) !== c) integer = false;
    }
  }
  return { values: out.subarray(0, k), missing, nonNumeric, integerDtype: integer && missing === 0 && nonNumeric === 0 && k > 0 };
}

/**
 * Category counts of a column (missing values dropped and counted). Numbers become their
 * text (`1` and `'1'` are one category, as a CSV would read them), booleans `'true'`/`'false'`.
 */
export function splitCategorical(values: ColumnValues): CategoricalSplit {
  const counts = new Map<string, number>();
  let missing = 0;
  let total = 0;
  const n = values.length;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (coerceValue(v) === MISSING) {
      missing++;
      continue;
    }
    const key = typeof v === 'number' ? String(v) : categoryKey(v);
    counts.set(key, (counts.get(key) ?? 0) + 1);
    total++;
  }
  return { counts, total, missing };
}

/**
 * Parses `col=numeric|categorical` pairs (the CLI's `--column-type`).
 *
 * @throws ValidationError for a pair without `=` or an unknown type.
 */
export function parseColumnTypes(pairs: readonly string[]): Record<string, ColumnType> {
  const out: Record<string, ColumnType> = Object.create(null) as Record<string, ColumnType>;
  for (const p of pairs) {
    const i = p.lastIndexOf('=');
    const name = p.slice(0, i);
    const type = p.slice(i + 1).trim().toLowerCase();
    if (i <= 0) throw new ValidationError(`column type '${p}' is not of the form column=numeric|categorical`);
    if (type === 'numeric' || type === 'numerical' || type === 'num') out[name] = 'numeric';
    else if (type === 'categorical' || type === 'category' || type === 'cat') out[name] = 'categorical';
    else throw new ValidationError(`column type '${type}' for '${name}' is not numeric or categorical`);
  }
  return out;
}
