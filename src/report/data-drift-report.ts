/**
 * The data-drift report (SPEC section 4, "Data-drift report app"): per column a drift test
 * chosen by Evidently's default rule (or overridden), the built-in app's histogram measures,
 * binned aggregates for charts, and dataset drift by the share of drifted columns.
 */
import { ValidationError } from '../common/errors.ts';
import {
  inferColumnType,
  splitCategorical,
  splitNumeric,
  type ColumnType,
  type ColumnValues,
} from '../stats/column-type.ts';
import { benjaminiHochberg } from '../stats/tests/index.ts';
import { categoricalColumnDrift, numericColumnDrift, type ColumnChoice, type ColumnOutcome } from './column-drift.ts';
import { isDrifted, METHODS, parseMethod } from './methods.ts';
import { sortFloat64, SortScratch } from './sort.ts';
import type { ColumnDrift, DataDriftReport, DataDriftReportOptions, ReportInput, ReportTable } from './types.ts';

/** Dataset drift default: at least half of the columns drifted. */
export const DEFAULT_DRIFT_SHARE = 0.5;

type Columns = ReportTable;

/** Dataset-level drift from the per-column verdicts: drifted when the drifted share reaches `driftShare`. */
export function datasetDrift(
  columns: Readonly<Record<string, ColumnDrift>>,
  driftShare: number,
): Pick<DataDriftReport, 'datasetDrift' | 'shareOfDriftedColumns' | 'numberOfColumns' | 'numberOfDriftedColumns' | 'driftShare'> {
  const all = Object.values(columns);
  const drifted = all.filter((c) => c.drifted).length;
  const share = all.length === 0 ? 0 : drifted / all.length;
  return { datasetDrift: all.length > 0 && share >= driftShare, shareOfDriftedColumns: share, numberOfColumns: all.length, numberOfDriftedColumns: drifted, driftShare };
}

/**
 * Compares `current` with `reference`, column by column.
 *
 * Columns: `options.columns`, or every reference column that `current` also has (others are
 * listed in `skippedColumns`). Per column: missing values (null, empty, NaN, ±Infinity, NA
 * tokens) are dropped and counted; a column with no values left on either side is skipped.
 * The type is inferred (`stats/column-type.ts`) unless `columnTypes` says; the method is
 * `columnMethods[c] ?? method ?? ` the SPEC rule on the values left; the threshold
 * `columnThresholds[c] ?? threshold ??` the method's default.
 *
 * Numeric columns are copied once per side, sorted once, and every statistic reads the
 * sorted copies; inputs are never modified.
 *
 * @throws ValidationError for unknown columns, unknown methods, a numeric-only method on a
 *   categorical column, thresholds that are not finite, or a drift share outside [0, 1].
 */
export function dataDriftReport(reference: ReportInput, current: ReportInput, options: DataDriftReportOptions = {}): DataDriftReport {
  const ref = asColumns(reference, 'reference');
  const cur = asColumns(current, 'current');
  const driftShare = options.driftShare ?? DEFAULT_DRIFT_SHARE;
  if (!(driftShare >= 0 && driftShare <= 1)) throw new ValidationError(`driftShare must be in [0, 1], got ${driftShare}`);
  const skippedColumns: Record<string, string> = {};
  const names = selectNames(ref, cur, options.columns, skippedColumns);
  const columns: Record<string, ColumnDrift> = {};
  const scratch = new SortScratch();
  let done = 0;
  for (const name of names) {
    const choice = columnChoice(name, options);
    const override = lookup(options.columnTypes, name);
    const drift = columnDrift(ref.columns[name] as ColumnValues, cur.columns[name] as ColumnValues, override, choice, scratch);
    if (typeof drift === 'string') skippedColumns[name] = drift;
    else setOwn(columns, name, drift);
    options.onProgress?.(++done, names.length, name);
  }
  if (options.benjaminiHochberg) correctPValues(columns);
  return {
    ...datasetDrift(columns, driftShare),
    referenceRows: ref.rowCount,
    currentRows: cur.rowCount,
    columns,
    skippedColumns,
  };
}

/** One column's drift, or why it was skipped. */
function columnDrift(
  reference: ColumnValues,
  current: ColumnValues,
  override: ColumnType | undefined,
  choice: ColumnChoice,
  scratch: SortScratch,
): ColumnDrift | string {
  const type = inferColumnType(reference, current, override);
  let outcome: ColumnOutcome;
  let missing: ColumnDrift['missing'];
  if (type === 'numeric') {
    const r = splitNumeric(reference);
    const c = splitNumeric(current);
    missing = { reference: r.missing + r.nonNumeric, current: c.missing + c.nonNumeric };
    if (r.values.length === 0 || c.values.length === 0) return emptyReason(r.values.length, c.values.length);
    outcome = numericColumnDrift(
      {
        reference: sortFloat64(r.values, scratch),
        current: sortFloat64(c.values, scratch),
        integerDtype: r.integerDtype && c.integerDtype,
      },
      choice,
    );
  } else {
    const r = splitCategorical(reference);
    const c = splitCategorical(current);
    missing = { reference: r.missing, current: c.missing };
    if (r.total === 0 || c.total === 0) return emptyReason(r.total, c.total);
    outcome = categoricalColumnDrift({ reference: r.counts, current: c.counts, referenceTotal: r.total, currentTotal: c.total }, choice);
  }
  // Key order of the JSON document: the documented fields first.
  const { columnType, method, score, threshold, drifted, histogram, ...rest } = outcome;
  return { columnType, method, score, threshold, drifted, histogram, missing, ...rest };
}

function emptyReason(nRef: number, nCur: number): string {
  if (nRef === 0 && nCur === 0) return 'no values in reference or current (all missing)';
  return nRef === 0 ? 'no values in reference (all missing)' : 'no values in current (all missing)';
}

/** Benjamini–Hochberg across the p-value tests; drift re-decided on the corrected p-values. */
function correctPValues(columns: Record<string, ColumnDrift>): void {
  const tested = Object.values(columns).filter((c) => METHODS[c.method].kind === 'pvalue');
  if (tested.length === 0) return;
  const adjusted = benjaminiHochberg(tested.map((c) => c.score));
  tested.forEach((c, i) => {
    c.uncorrectedScore = c.score;
    c.score = adjusted[i] as number;
    c.drifted = isDrifted(c.method, c.score, c.threshold);
  });
}

function columnChoice(name: string, options: DataDriftReportOptions): ColumnChoice {
  const m = lookup(options.columnMethods, name) ?? options.method;
  const t = lookup(options.columnThresholds, name) ?? options.threshold;
  if (t !== undefined && !Number.isFinite(t)) throw new ValidationError(`threshold for column '${name}' must be a finite number, got ${String(t)}`);
  return { method: m === undefined ? undefined : parseMethod(m), threshold: t, bins: options.bins ?? true };
}

function lookup<T>(record: Readonly<Record<string, T>> | undefined, name: string): T | undefined {
  return record && Object.hasOwn(record, name) ? record[name] : undefined;
}

function selectNames(ref: Columns, cur: Columns, wanted: readonly string[] | undefined, skipped: Record<string, string>): string[] {
  if (wanted) {
    const missingRef = wanted.filter((n) => !Object.hasOwn(ref.columns, n));
    const missingCur = wanted.filter((n) => !Object.hasOwn(cur.columns, n));
    if (missingRef.length > 0) throw new ValidationError(`column(s) not in the reference: ${missingRef.join(', ')}`, { available: ref.names });
    if (missingCur.length > 0) throw new ValidationError(`column(s) not in the current data: ${missingCur.join(', ')}`, { available: cur.names });
    return [...new Set(wanted)];
  }
  const names: string[] = [];
  for (const n of ref.names) {
    if (Object.hasOwn(cur.columns, n)) names.push(n);
    else skipped[n] = 'not in the current data';
  }
  for (const n of cur.names) if (!Object.hasOwn(ref.columns, n)) skipped[n] = 'not in the reference';
  if (names.length === 0) throw new ValidationError('reference and current have no column in common');
  return names;
}

/** A {@link ReportTable} or a record of columns, as names, columns and a row count (lengths checked). */
function asColumns(input: ReportInput, which: string): Columns {
  if (isTable(input)) return { names: input.names, columns: input.columns, rowCount: input.rowCount };
  if (typeof input !== 'object' || input === null) throw new ValidationError(`${which} must be a table or an object of columns`);
  const names = Object.keys(input);
  let rowCount: number | undefined;
  for (const n of names) {
    const col = (input as Record<string, unknown>)[n];
    if (!Array.isArray(col) && !(ArrayBuffer.isView(col) && !(col instanceof DataView))) {
      throw new ValidationError(`${which} column '${n}' is not an array`);
    }
    const len = (col as ArrayLike<unknown>).length;
    if (rowCount !== undefined && len !== rowCount) throw new ValidationError(`${which} columns have different lengths`);
    rowCount = len;
  }
  return { names, columns: input as Readonly<Record<string, ColumnValues>>, rowCount: rowCount ?? 0 };
}

function isTable(input: ReportInput): input is ReportTable {
  const t = input as Partial<ReportTable>;
  return Array.isArray(t.names) && typeof t.rowCount === 'number' && typeof t.columns === 'object' && t.columns !== null && !Array.isArray(t.columns);
}

function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}
