/**
 * Readers for tabular text and files (CSV, JSON lines, JSON, Parquet). Each returns raw
 * records; `tabular.ts` turns them into a column table and checks shapes.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from 'hyparquet';
import { errorMessage, ValidationError } from '../common/errors.ts';
import { numericText } from '../stats/values.ts';

/** File formats {@link readTabularFile} understands. */
export type TabularFormat = 'csv' | 'jsonl' | 'json' | 'parquet';

/** Raw records: objects (names from their keys), or arrays under given names. */
export type RawRecords =
  | { kind: 'objects'; rows: unknown[]; names?: string[] }
  | { kind: 'arrays'; rows: unknown[][]; names: string[] }
  | { kind: 'columns'; columns: unknown };

const EXTENSIONS: Record<string, TabularFormat> = {
  '.csv': 'csv',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.json': 'json',
  '.parquet': 'parquet',
  '.pq': 'parquet',
};

/** The format of a path from its extension, or the explicit one. */
export function formatOf(path: string, explicit?: TabularFormat): TabularFormat {
  if (explicit) return explicit;
  const ext = extname(path).toLowerCase();
  const format = Object.hasOwn(EXTENSIONS, ext) ? EXTENSIONS[ext] : undefined;
  if (!format) {
    throw new ValidationError(
      `cannot tell the format of '${path}': use a .csv, .jsonl, .ndjson, .json or .parquet file, or pass format`,
      { path },
    );
  }
  return format;
}

/** Reads a file in the given format. */
export async function readTabularFile(path: string, format: TabularFormat): Promise<RawRecords> {
  try {
    if (format === 'parquet') return await readParquet(path);
    const text = await readFile(path, 'utf8');
    if (format === 'csv') return parseCsvText(text);
    if (format === 'jsonl') return parseJsonLines(text);
    return parseJsonText(text);
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    throw new ValidationError(`cannot read ${format} file '${path}': ${errorMessage(err)}`, { path, format });
  }
}

/**
 * CSV with a header row. Cells: empty → null, plain decimal numbers → numbers, anything else
 * stays text (so `'NA'` reaches the stats as text and is counted missing there). An empty
 * header cell is named `Unnamed: i` as pandas does (pandas writes its index that way).
 */
export function parseCsvText(text: string): RawRecords {
  let records: string[][];
  try {
    records = parseCsv(text, { bom: true, skip_empty_lines: true });
  } catch (err) {
    throw new ValidationError(`invalid CSV: ${errorMessage(err)}`);
  }
  const header = records[0];
  if (!header) throw new ValidationError('invalid CSV: no header row');
  const names = header.map((h, i) => (h.trim() === '' ? `Unnamed: ${i}` : h));
  const rows = records.slice(1).map((r) => r.map(castCsvCell));
  return { kind: 'arrays', rows, names };
}

function castCsvCell(cell: string): unknown {
  if (cell === '') return null;
  return numericText(cell) ?? cell;
}

/** JSON lines: one JSON object per non-blank line. */
export function parseJsonLines(text: string): RawRecords {
  const rows: unknown[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '') continue;
    try {
      rows.push(JSON.parse(line));
    } catch (err) {
      throw new ValidationError(`invalid JSON on line ${i + 1}: ${errorMessage(err)}`, { line: i + 1 });
    }
  }
  return { kind: 'objects', rows };
}

/** A JSON document: an array of row objects, or an object of columns. */
export function parseJsonText(text: string): RawRecords {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ValidationError(`invalid JSON: ${errorMessage(err)}`);
  }
  if (Array.isArray(doc)) return { kind: 'objects', rows: doc };
  if (typeof doc === 'object' && doc !== null) return { kind: 'columns', columns: doc };
  throw new ValidationError('a JSON table must be an array of rows or an object of columns');
}

async function readParquet(path: string): Promise<RawRecords> {
  const file = await asyncBufferFromFile(path);
  const metadata = await parquetMetadataAsync(file);
  // Names from the schema, so that a file with zero rows still has its columns.
  const names = parquetSchema(metadata).children.map((c) => c.element.name);
  const rows = await parquetReadObjects({ file, metadata });
  return { kind: 'objects', rows, names };
}
