import { CompiledQuery, type Insertable, type Kysely } from 'kysely';
import { chunkRows, MYSQL_TRAITS } from '../dialect.ts';
import type { Database } from '../schema.ts';

type PredictionInsert = Insertable<Database['predictions']>;

/** The `predictions` columns in the order the value tuples list them. */
const COLUMNS = ['project', 'endpoint_id', 'time', 'latency_us', 'request_id', 'row_index', 'features', 'outputs', 'labels'] as const satisfies readonly (keyof PredictionInsert)[];

const STATEMENT = `insert into predictions (${COLUMNS.map((c) => `\`${c}\``).join(', ')}) values ? on duplicate key update \`project\` = \`project\``;

/**
 * Inserts predictions inside the caller's transaction `tx` on MySQL/MariaDB, skipping
 * (request id, row) pairs already stored: multi-row `INSERT ... ON DUPLICATE KEY UPDATE` (a no-op
 * update) of up to the statement limits of {@link MYSQL_TRAITS}. The rows go to mysql2 as one
 * nested-array parameter (`VALUES ?`), which it escapes in one pass, rather than as one Kysely
 * placeholder per value (compiling tens of thousands of placeholders costs more than the insert).
 * Returns the number of rows inserted.
 */
export async function insertPredictionsMysql(tx: Kysely<Database>, rows: readonly PredictionInsert[]): Promise<number> {
  let inserted = 0;
  for (const part of chunkRows(rows, MYSQL_TRAITS)) {
    const tuples = part.map((r) => COLUMNS.map((c) => r[c] ?? null));
    const result = await tx.executeQuery(CompiledQuery.raw(STATEMENT, [tuples]));
    inserted += Number(result.numAffectedRows ?? 0n);
  }
  return inserted;
}
