/**
 * Writes a column table as Parquet, typed per column so that reading it back (`toColumns` on
 * the file) gives the same cells: the logged training set that the `data-drift-report` app
 * compares windows with (SPEC section 4) must give the report the numbers the original gives.
 */
import { rename, rm, writeFile } from 'node:fs/promises';
import { parquetWriteBuffer, type BasicType, type ColumnSource } from 'hyparquet-writer';
import { errorMessage, ValidationError } from '../common/errors.ts';
import type { Table } from './tabular.ts';

/**
 * The Parquet type of a column from its cells (nulls aside):
 * - only numbers → `DOUBLE` (integers, fractions, NaN, ±Infinity and -0 read back as they were);
 * - only strings → `STRING`; only booleans → `BOOLEAN`; only dates → `TIMESTAMP` (milliseconds);
 * - nothing but nulls → `STRING` (read back as nulls);
 * - anything else (numbers and text mixed, objects, arrays) → `JSON`, each cell as its JSON text:
 *   the cells come back as they were, except numbers that JSON cannot hold (NaN, ±Infinity), which
 *   come back as null — missing either way for every statistic.
 */
export function parquetTypeOf(cells: readonly unknown[]): BasicType {
  let kind: 'number' | 'string' | 'boolean' | 'date' | undefined;
  for (const v of cells) {
    if (v === null || v === undefined) continue;
    const k = typeof v === 'number' ? 'number' : typeof v === 'string' ? 'string' : typeof v === 'boolean' ? 'boolean' : v instanceof Date ? 'date' : undefined;
    if (k === undefined || (kind !== undefined && k !== kind)) return 'JSON';
    kind = k;
  }
  switch (kind) {
    case 'number':
      return 'DOUBLE';
    case 'boolean':
      return 'BOOLEAN';
    case 'date':
      return 'TIMESTAMP';
    default:
      return 'STRING';
  }
}

/**
 * Writes `table` to `file` as Parquet (columns in table order, every column nullable). The file
 * appears whole or not at all: it is written beside and renamed into place.
 *
 * @throws ValidationError when a cell cannot be stored (an invalid date, a value JSON cannot
 *   write such as a bigint).
 */
export async function writeParquetTable(file: string, table: Table): Promise<void> {
  const columnData: ColumnSource[] = table.names.map((name) => {
    const cells = (table.columns[name] ?? []).map((v) => (v === undefined ? null : v));
    const type = parquetTypeOf(cells);
    if (type === 'TIMESTAMP' && cells.some((v) => v instanceof Date && Number.isNaN(v.getTime()))) {
      throw new ValidationError(`column '${name}' holds an invalid date`, { column: name });
    }
    return { name, data: cells, type, nullable: true };
  });
  let buffer: ArrayBuffer;
  try {
    buffer = parquetWriteBuffer({ columnData });
  } catch (err) {
    throw new ValidationError(`cannot write the table as Parquet: ${errorMessage(err)}`);
  }
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, new Uint8Array(buffer));
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
