import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CompiledQuery, type Kysely, type PostgresPool, type PostgresPoolClient, type PostgresQueryResult } from 'kysely';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';

/**
 * The rows of a `COPY ... FROM STDIN` statement, passed as the statement's one parameter. Kysely
 * has no COPY; the pools of {@link copyCapablePool} recognise this parameter and stream the text
 * over the COPY protocol on the same connection (so inside the caller's transaction).
 */
export class CopyData {
  constructor(
    /**
     * The rows in COPY text format (one line per row, tab-separated, `\N` for null), in pieces of
     * whole lines, read once, as the connection takes them.
     */
    readonly pieces: Iterable<string>,
    /** Rows in the pieces. */
    readonly rows: number,
  ) {}
}

type QueryResult = PostgresQueryResult<unknown>;

/**
 * Wraps a pg pool so that its clients run `COPY ... FROM STDIN` statements whose one parameter is
 * a {@link CopyData}; every other query goes to pg unchanged. Each pg client keeps one wrapper, so
 * Kysely's per-connection state (set up once by `onCreateConnection`) stays attached.
 */
export function copyCapablePool(pool: pg.Pool): PostgresPool {
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    let w = wrappers.get(client);
    if (!w) {
      // The pool listens for errors of idle clients only: a session the server ends while it is
      // checked out (a shutdown between two statements of a transaction) would otherwise be an
      // uncaught 'error' event and end the process. Its next query fails instead, and the pool
      // drops it when it comes back.
      client.on('error', () => undefined);
      const query = (sqlOrCursor: unknown, parameters?: readonly unknown[]): unknown => {
        const data = parameters?.length === 1 ? parameters[0] : undefined;
        if (typeof sqlOrCursor === 'string' && data instanceof CopyData) return runCopy(client, sqlOrCursor, data);
        return (client.query as (a: unknown, b?: unknown) => unknown)(sqlOrCursor, parameters === undefined ? undefined : [...parameters]);
      };
      w = { query: query as PostgresPoolClient['query'], release: (destroy?: boolean) => client.release(destroy) };
      wrappers.set(client, w);
    }
    return w;
  };
  return {
    connect: async () => wrap(await pool.connect()),
    end: () => pool.end(),
  };
}

async function runCopy(client: pg.PoolClient, statement: string, data: CopyData): Promise<QueryResult> {
  if (!/^\s*copy\s[\s\S]*\bfrom\s+stdin\b/i.test(statement)) throw new Error(`a COPY parameter needs a 'COPY ... FROM STDIN' statement, got '${statement.slice(0, 60)}'`);
  const stream = client.query(copyStreams.from(statement));
  await pipeline(Readable.from(data.pieces, { objectMode: false }), stream);
  // Kysely reads `command`, `rowCount` and `rows`; COPY is reported as an INSERT of its rows.
  return { command: 'INSERT', rowCount: Number(stream.rowCount ?? data.rows), rows: [] };
}

/** The characters COPY text format escapes. */
export const COPY_SPECIAL = /[\\\t\n\r]/;

/** One value in COPY text format. */
export function copyValue(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  const s = typeof v === 'string' ? v : String(v);
  return COPY_SPECIAL.test(s) ? s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r') : s;
}

/** Rows in COPY text format, `columns` in order. */
export function copyText(columns: readonly string[], rows: readonly Readonly<Record<string, unknown>>[]): CopyData {
  let text = '';
  for (const r of rows) {
    let line = '';
    for (let c = 0; c < columns.length; c++) line += (c === 0 ? '' : '\t') + copyValue(r[columns[c]!]);
    text += `${line}\n`;
  }
  return new CopyData([text], rows.length);
}

/**
 * `COPY table (columns) FROM STDIN` of `data` (rows as {@link copyText} or another maker of COPY
 * text writes them) on `db`'s connection, inside its transaction when `db` is one. Needs a Kysely
 * over a {@link copyCapablePool}. Returns the rows copied.
 */
export async function copyData(db: Kysely<unknown>, table: string, columns: readonly string[], data: CopyData): Promise<number> {
  const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;
  const statement = `copy ${ident(table)} (${columns.map(ident).join(', ')}) from stdin`;
  const r = await db.executeQuery(CompiledQuery.raw(statement, [data]));
  return Number(r.numAffectedRows ?? BigInt(data.rows));
}
