/**
 * Tabular input in any of the shapes users hand us (training sets, windows, report inputs),
 * turned into one column table.
 */
import { ValidationError } from '../common/errors.ts';
import {
  formatOf,
  parseCsvText,
  parseJsonLines,
  readTabularFile,
  type RawRecords,
  type TabularFormat,
} from './tabular-files.ts';

export type { TabularFormat } from './tabular-files.ts';

/** A column table: `columns[name]` has `rowCount` cells, for every name in `names` (in order). */
export interface Table {
  names: string[];
  columns: Record<string, unknown[]>;
  rowCount: number;
}

/** Numeric typed arrays accepted as columns. */
export type NumericTypedArray =
  | Float64Array
  | Float32Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** Every input shape {@link toColumns} takes. */
export type TabularInput =
  | readonly Readonly<Record<string, unknown>>[]
  | readonly (readonly unknown[])[]
  | Readonly<Record<string, readonly unknown[] | NumericTypedArray>>
  | { path: string }
  | { csv: string }
  | { jsonl: string };

/** Options of {@link toColumns}. */
export interface ToColumnsOptions {
  /**
   * Names of the columns of an array of arrays (default `f0..fN`, as the stream processor
   * names unnamed features). For every other input: the columns to keep, in this order.
   */
  columns?: readonly string[];
  /** File format, when the path's extension does not tell it. */
  format?: TabularFormat;
  /** Accept zero rows (default false: an empty training set is almost always a mistake). */
  allowEmpty?: boolean;
}

/**
 * Reads any {@link TabularInput} into a {@link Table}.
 *
 * Cells: `undefined` → null; bigint → number (exact up to 2^53, rounded beyond, because
 * stats and JSON need numbers); everything else as it is. Row objects may lack keys (the
 * cell is null); names are the union of keys in first-seen order. CSV: see `parseCsvText`.
 *
 * @throws ValidationError for unknown formats or shapes, ragged array rows, columns of
 *   different lengths, duplicate names, `__proto__` as a name, and zero rows (unless
 *   `allowEmpty`), zero columns, or unreadable files.
 */
export async function toColumns(input: TabularInput, opts: ToColumnsOptions = {}): Promise<Table> {
  const { raw, select } = await toRaw(input, opts);
  let table: Table;
  if (raw.kind === 'columns') table = fromColumnar(raw.columns);
  else if (raw.kind === 'arrays') table = fromArrays(raw.rows, raw.names);
  else table = fromRows(raw.rows, raw.names);
  if (select) table = selectColumns(table, select);
  if (table.rowCount === 0 && !opts.allowEmpty) throw new ValidationError('the table has no rows');
  if (table.names.length === 0) throw new ValidationError('the table has no columns');
  return table;
}

/** A table with only `names`, in that order (arrays shared with the input table). */
export function selectColumns(table: Table, names: readonly string[]): Table {
  const unknown = names.filter((n) => !Object.hasOwn(table.columns, n));
  if (unknown.length > 0) {
    throw new ValidationError(`unknown column(s): ${unknown.join(', ')}`, { unknown, available: table.names });
  }
  checkNames(names);
  const columns: Record<string, unknown[]> = {};
  for (const n of names) columns[n] = table.columns[n] as unknown[];
  return { names: [...names], columns, rowCount: table.rowCount };
}

/** A table without `names` (arrays shared with the input table). Unknown names are an error. */
export function dropColumns(table: Table, names: readonly string[]): Table {
  const unknown = names.filter((n) => !Object.hasOwn(table.columns, n));
  if (unknown.length > 0) {
    throw new ValidationError(`unknown column(s): ${unknown.join(', ')}`, { unknown, available: table.names });
  }
  const drop = new Set(names);
  return selectColumns(
    table,
    table.names.filter((n) => !drop.has(n)),
  );
}

/** The raw records, and the columns still to select (`opts.columns` names array rows instead). */
async function toRaw(
  input: TabularInput,
  opts: ToColumnsOptions,
): Promise<{ raw: RawRecords; select: readonly string[] | undefined }> {
  if (Array.isArray(input)) {
    if (isArrayOfArrays(input) || (input.length === 0 && opts.columns)) {
      const width = opts.columns?.length ?? (input[0] as unknown[]).length;
      const names = opts.columns ? [...opts.columns] : Array.from({ length: width }, (_, i) => `f${i}`);
      return { raw: { kind: 'arrays', rows: input as unknown[][], names }, select: undefined };
    }
    return { raw: { kind: 'objects', rows: input as unknown[] }, select: opts.columns };
  }
  if (typeof input !== 'object' || input === null) {
    throw new ValidationError('tabular input must be rows, columns, { path }, { csv } or { jsonl }');
  }
  const source = sourceOf(input);
  let raw: RawRecords;
  if (source?.key === 'path') raw = await readTabularFile(source.text, formatOf(source.text, opts.format));
  else if (source?.key === 'csv') raw = parseCsvText(source.text);
  else if (source?.key === 'jsonl') raw = parseJsonLines(source.text);
  else raw = { kind: 'columns', columns: input };
  return { raw, select: opts.columns };
}

/** `{ path | csv | jsonl: string }` and nothing else; otherwise the object is columns. */
function sourceOf(input: object): { key: 'path' | 'csv' | 'jsonl'; text: string } | undefined {
  const keys = Object.keys(input);
  const key = keys[0];
  if (keys.length !== 1 || (key !== 'path' && key !== 'csv' && key !== 'jsonl')) return undefined;
  const text: unknown = (input as Record<string, unknown>)[key];
  return typeof text === 'string' ? { key, text } : undefined;
}

function isArrayOfArrays(input: unknown): boolean {
  return Array.isArray(input) && input.length > 0 && Array.isArray(input[0]);
}

function fromArrays(rows: readonly unknown[][], names: string[]): Table {
  checkNames(names);
  const columns = emptyColumns(names);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    if (!Array.isArray(row) || row.length !== names.length) {
      const got = Array.isArray(row) ? `${row.length} values` : typeof row;
      throw new ValidationError(`row ${r} has ${got}, expected ${names.length} values (${names.join(', ')})`, {
        row: r,
      });
    }
    for (let c = 0; c < names.length; c++) (columns[names[c] as string] as unknown[]).push(cell(row[c]));
  }
  return { names, columns, rowCount: rows.length };
}

function fromRows(rows: readonly unknown[], schemaNames?: string[]): Table {
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    if (typeof row !== 'object' || row === null || Array.isArray(row)) {
      throw new ValidationError(`row ${r} is not an object (rows must all be objects, or all arrays)`, { row: r });
    }
  }
  const records = rows as readonly Record<string, unknown>[];
  const names = schemaNames ?? unionOfKeys(records);
  checkNames(names);
  const columns = emptyColumns(names);
  for (const row of records) {
    for (const n of names) (columns[n] as unknown[]).push(cell(Object.hasOwn(row, n) ? row[n] : undefined));
  }
  return { names, columns, rowCount: records.length };
}

function fromColumnar(input: unknown): Table {
  const entries = Object.entries(input as Record<string, unknown>);
  const names = entries.map(([n]) => n);
  checkNames(names);
  const columns: Record<string, unknown[]> = {};
  const lengths: Record<string, number> = {};
  for (const [name, values] of entries) {
    if (!Array.isArray(values) && !isNumericTypedArray(values)) {
      throw new ValidationError(`column '${name}' is not an array`, { column: name });
    }
    columns[name] = Array.from(values as ArrayLike<unknown>, cell);
    lengths[name] = (values as ArrayLike<unknown>).length;
  }
  const distinct = new Set(Object.values(lengths));
  if (distinct.size > 1) throw new ValidationError('columns have different lengths', { lengths });
  return { names, columns, rowCount: entries.length === 0 ? 0 : (lengths[names[0] as string] as number) };
}

function isNumericTypedArray(v: unknown): boolean {
  return ArrayBuffer.isView(v) && !(v instanceof DataView);
}

function unionOfKeys(rows: readonly Record<string, unknown>[]): string[] {
  const names = new Set<string>();
  for (const row of rows) for (const k of Object.keys(row)) names.add(k);
  return [...names];
}

function checkNames(names: readonly string[]): void {
  const seen = new Set<string>();
  for (const n of names) {
    // A plain object keyed by `__proto__` would change its prototype instead of adding a column.
    if (n === '__proto__') throw new ValidationError("'__proto__' cannot be a column name");
    if (seen.has(n)) throw new ValidationError(`duplicate column name '${n}'`, { column: n });
    seen.add(n);
  }
}

function emptyColumns(names: readonly string[]): Record<string, unknown[]> {
  const columns: Record<string, unknown[]> = {};
  for (const n of names) columns[n] = [];
  return columns;
}

function cell(v: unknown): unknown {
  if (v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  return v;
}
