/**
 * Reads a report input file (CSV, JSON lines, JSON or Parquet) into columns: CSV files whose
 * cells are all numbers or missing take the fast byte-level reader (`numeric-csv.ts`), every
 * other file the general reader (`toColumns`).
 */
import { stat } from 'node:fs/promises';
import { ValidationError } from '../common/errors.ts';
import { toColumns, type TabularFormat } from '../data/tabular.ts';
import { formatOf } from '../data/tabular-files.ts';
import { readNumericCsv } from './numeric-csv.ts';
import type { ReportTable } from './types.ts';

/** Options of {@link readReportInput}. */
export interface ReadInputOptions {
  /** Format when the extension does not tell. */
  format?: TabularFormat;
  /** Progress of the CSV fast path: bytes read and file size. */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
  /** Skip the fast path (tests). */
  general?: boolean;
}

/** A report input read from a file, and which reader read it. */
export interface ReadInput {
  table: ReportTable;
  reader: 'numeric-csv' | 'general';
}

/**
 * Reads `path` for the report.
 *
 * @throws ValidationError when the file is missing, unreadable, or in an unknown format.
 */
export async function readReportInput(path: string, opts: ReadInputOptions = {}): Promise<ReadInput> {
  const format = formatOf(path, opts.format);
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) throw new ValidationError(`cannot read '${path}': no such file`, { path });
  if (format === 'csv' && !opts.general) {
    const fast = await readNumericCsv(path, opts.onProgress ? { onProgress: opts.onProgress } : {});
    if (fast) {
      if (fast.rowCount === 0) throw new ValidationError('the table has no rows');
      return { table: fast, reader: 'numeric-csv' };
    }
  }
  const table = await toColumns({ path }, { format });
  opts.onProgress?.(info.size, info.size);
  return { table, reader: 'general' };
}
