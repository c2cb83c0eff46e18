import { sql, type Insertable, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { copyRows } from './copy.ts';
import { PREDICTION_COLUMN_TYPES, unnestInsertIgnore } from './unnest-insert.ts';

const COLUMNS = Object.keys(PREDICTION_COLUMN_TYPES);
const UNIQUE_VIOLATION = '23505';

/**
 * Inserts predictions inside the caller's transaction `tx`, skipping (request id, row) pairs
 * already stored. The rows go in with `COPY` under a savepoint — the raw insert rate, since a
 * batch is new nearly always; when some row exists (a batch delivered again after a crash) the
 * COPY fails with a unique violation, the savepoint undoes it, and the rows go in through
 * `INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING`. `tx` must come from
 * `openPostgresDatabase` (its pool runs COPY). Returns the number of rows inserted.
 */
export async function insertPredictionsPostgres(tx: Kysely<Database>, rows: readonly Insertable<Database['predictions']>[]): Promise<number> {
  if (rows.length === 0) return 0;
  await sql`savepoint mw_copy_predictions`.execute(tx);
  try {
    return await copyRows(tx as Kysely<unknown>, 'predictions', COLUMNS, rows as readonly Record<string, unknown>[]);
  } catch (err) {
    if ((err as { code?: unknown } | null)?.code !== UNIQUE_VIOLATION) throw err;
    await sql`rollback to savepoint mw_copy_predictions`.execute(tx);
    return unnestInsertIgnore(tx, 'predictions', PREDICTION_COLUMN_TYPES, rows);
  }
}
