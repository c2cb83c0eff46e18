import { sql, type Insertable, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/** Rows per `INSERT ... SELECT FROM unnest(...)` statement. */
export const UNNEST_CHUNK_ROWS = 20_000;

/** The PostgreSQL type of each `predictions` column, for the arrays `unnest` takes apart. */
export const PREDICTION_COLUMN_TYPES = {
  project: 'text',
  endpoint_id: 'text',
  time: 'int8',
  latency_us: 'int8',
  request_id: 'text',
  row_index: 'int4',
  features: 'text',
  outputs: 'text',
  labels: 'text',
} as const satisfies Record<keyof Insertable<Database['predictions']>, string>;

/**
 * Inserts rows skipping those whose unique key exists, sending one array per column
 * (`INSERT INTO t (...) SELECT * FROM unnest($1::text[], $2::int8[], ...) ON CONFLICT DO NOTHING`)
 * instead of one parameter per value. Nine parameters carry any number of rows, so there is no
 * 65,535-parameter chunking, and pg serialises arrays far faster than Kysely compiles a statement
 * of 65,000 placeholders (`npm run bench -- ingest --backend postgres+nats --compare-methods` compares them with COPY).
 * Returns the number of rows inserted.
 */
export async function unnestInsertIgnore<T extends keyof Database & string>(
  tx: Kysely<Database>,
  table: T,
  columnTypes: Readonly<Record<string, string>>,
  rows: readonly Insertable<Database[T]>[],
  chunkRows = UNNEST_CHUNK_ROWS,
): Promise<number> {
  const columns = Object.keys(columnTypes);
  let inserted = 0;
  for (let i = 0; i < rows.length; i += chunkRows) {
    const part = rows.slice(i, i + chunkRows) as readonly Record<string, unknown>[];
    const arrays = columns.map((c) => sql`${part.map((r) => r[c] ?? null)}::${sql.raw(columnTypes[c] ?? 'text')}[]`);
    const r = await sql`
      insert into ${sql.table(table)} (${sql.join(columns.map((c) => sql.ref(c)))})
      select * from unnest(${sql.join(arrays)})
      on conflict do nothing`.execute(tx);
    inserted += Number(r.numAffectedRows ?? 0n);
  }
  return inserted;
}
