import { sql, type Insertable, type Kysely } from 'kysely';
import type { Database } from './schema.ts';

/** The SQL engines one query layer serves. */
export type SqlFlavor = 'sqlite' | 'postgres' | 'mysql';

/**
 * What differs between engines, kept as data so that the store and tsdb stay one implementation.
 * A new engine is a folder (`store/<engine>/`) that opens a Kysely handle plus one of these.
 */
export interface DialectTraits {
  readonly flavor: SqlFlavor;
  /** Bound parameters one statement may carry (SQLite's SQLITE_MAX_VARIABLE_NUMBER is 32766). */
  readonly maxParams: number;
  /**
   * Rough cap on the bytes of one statement, for engines whose client sends values inline in the
   * SQL text and whose server rejects packets over `max_allowed_packet` (MySQL). Absent: no cap.
   */
  readonly maxStatementBytes?: number;
}

export const SQLITE_TRAITS: DialectTraits = Object.freeze({ flavor: 'sqlite', maxParams: 32766 });
/** PostgreSQL: the Bind message counts parameters in 16 bits. */
export const POSTGRES_TRAITS: DialectTraits = Object.freeze({ flavor: 'postgres', maxParams: 65535 });
/**
 * MySQL/MariaDB: mysql2 interpolates values client-side, so the limit that bites is the packet
 * size (MariaDB's default `max_allowed_packet` is 16 MiB, older servers 4 MiB); 4 MiB leaves room.
 */
export const MYSQL_TRAITS: DialectTraits = Object.freeze({ flavor: 'mysql', maxParams: 65535, maxStatementBytes: 4 * 1024 * 1024 });

/* eslint-disable @typescript-eslint/no-explicit-any -- the generic helpers below build rows and SETs from column lists */
type AnyDb = Kysely<any>;
type AnyObject = any;
/* eslint-enable @typescript-eslint/no-explicit-any */

/**
 * Splits rows so that one INSERT stays under the engine's bound-parameter limit (and, where the
 * engine has one, under its statement size).
 */
export function chunkRows<T extends object>(rows: readonly T[], traits: DialectTraits): T[][] {
  const first = rows[0];
  if (!first) return [];
  const perRow = Math.max(1, Object.keys(first).length);
  const size = Math.max(1, Math.floor(traits.maxParams / perRow));
  const out: T[][] = [];
  const maxBytes = traits.maxStatementBytes;
  if (maxBytes === undefined) {
    for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
    return out;
  }
  let part: T[] = [];
  let bytes = 0;
  for (const row of rows) {
    const b = rowBytes(row);
    if (part.length > 0 && (part.length >= size || bytes + b > maxBytes)) {
      out.push(part);
      part = [];
      bytes = 0;
    }
    part.push(row);
    bytes += b;
  }
  if (part.length > 0) out.push(part);
  return out;
}

/** An upper estimate of a row's size in SQL text: strings may double when escaped. */
function rowBytes(row: object): number {
  let n = 8;
  for (const v of Object.values(row)) n += typeof v === 'string' ? 2 * Buffer.byteLength(v) + 4 : 24;
  return n;
}

/**
 * INSERT that silently skips rows violating a unique key: `ON CONFLICT DO NOTHING` on SQLite and
 * PostgreSQL. On MySQL a no-op `ON DUPLICATE KEY UPDATE c = c` rather than `INSERT IGNORE`, which
 * would also turn truncated strings and other data errors into warnings (the connection is opened
 * without CLIENT_FOUND_ROWS, so a skipped row counts 0). Returns the number of rows inserted.
 */
export async function insertIgnore<T extends keyof Database & string>(
  db: Kysely<Database>,
  traits: DialectTraits,
  table: T,
  rows: readonly Insertable<Database[T]>[],
): Promise<number> {
  let inserted = 0;
  for (const part of chunkRows(rows, traits)) {
    const q = (db as AnyDb).insertInto(table).values(part);
    const col = Object.keys(part[0] ?? {})[0] ?? '';
    const noop: AnyObject = { [col]: sql.ref(col) };
    const r = await (traits.flavor === 'mysql' ? q.onDuplicateKeyUpdate(noop) : q.onConflict((oc) => oc.doNothing())).executeTakeFirst();
    inserted += Number(r.numInsertedOrUpdatedRows ?? 0n);
  }
  return inserted;
}

/**
 * INSERT that replaces the non-key columns of a row whose unique `keys` already exist.
 * (`ON CONFLICT (...) DO UPDATE` / MySQL `ON DUPLICATE KEY UPDATE col = VALUES(col)`.)
 */
export async function upsert<T extends keyof Database & string>(
  db: Kysely<Database>,
  traits: DialectTraits,
  table: T,
  rows: readonly Insertable<Database[T]>[],
  keys: readonly (keyof Database[T] & string)[],
): Promise<void> {
  const first = rows[0];
  if (!first) return;
  const update = Object.keys(first).filter((c) => !(keys as readonly string[]).includes(c));
  for (const part of chunkRows(rows, traits)) {
    const q = (db as AnyDb).insertInto(table).values(part);
    if (traits.flavor === 'mysql') {
      // `values(c)` is deprecated on MySQL 8.0.20+ but the row-alias form replacing it is not in MariaDB.
      const set: AnyObject =
        update.length === 0
          ? { [keys[0] ?? '']: sql.ref(keys[0] ?? '') }
          : Object.fromEntries(update.map((c) => [c, sql`values(${sql.ref(c)})`]));
      await q.onDuplicateKeyUpdate(set).execute();
    } else if (update.length === 0) {
      await q.onConflict((oc) => oc.columns([...keys]).doNothing()).execute();
    } else {
      await q
        .onConflict((oc) => {
          const set: AnyObject = Object.fromEntries(update.map((c) => [c, sql.ref(`excluded.${c}`)]));
          return oc.columns([...keys]).doUpdateSet(set);
        })
        .execute();
    }
  }
}

/**
 * Runs `fn` in a transaction that holds the write lock from its first statement. On SQLite a
 * plain (deferred) transaction that reads before it writes fails with SQLITE_BUSY_SNAPSHOT when
 * another process committed in between, so SQLite gets `BEGIN IMMEDIATE` (which waits on the
 * busy timeout instead). Other engines use their ordinary transaction (READ COMMITTED) plus row
 * locks (`forUpdate`) where the caller reads before writing, and run `fn` again when the engine
 * rolled the transaction back for a deadlock or a key another transaction inserted meanwhile
 * (see {@link isRetryableTxError}); `fn` must therefore touch nothing but `tx`.
 */
export async function writeTx<R>(db: Kysely<Database>, traits: DialectTraits, fn: (tx: Kysely<Database>) => Promise<R>): Promise<R> {
  if (traits.flavor !== 'sqlite') return retryTx(() => db.transaction().execute(fn));
  return db.connection().execute(async (conn) => {
    await retryBusy(() => sql`begin immediate`.execute(conn));
    try {
      const r = await fn(conn);
      await sql`commit`.execute(conn);
      return r;
    } catch (err) {
      await sql`rollback`.execute(conn).catch(() => undefined);
      throw err;
    }
  });
}

/**
 * True when a server engine aborted a transaction that can simply run again: a deadlock
 * (PostgreSQL 40P01, MySQL 1213), a serialization failure (40001), or a unique key violated by a
 * row another transaction committed between our read and our insert (23505, MySQL 1062).
 */
export function isRetryableTxError(err: unknown): boolean {
  const e = err as { code?: unknown; errno?: unknown } | null;
  if (e === null || typeof e !== 'object') return false;
  if (e.code === '40P01' || e.code === '40001' || e.code === '23505') return true;
  return e.errno === 1213 || e.errno === 1062;
}

async function retryTx<R>(fn: () => Promise<R>, attempts = 6): Promise<R> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || !isRetryableTxError(err)) throw err;
      await new Promise((r) => setTimeout(r, 5 * 2 ** i + Math.random() * 20));
    }
  }
}

/** True for SQLite's "database is locked" family of errors (another process holds the lock). */
export function isBusyError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/**
 * Retries `fn` while SQLite reports the database busy. Only for statements that are safe to
 * repeat (nothing committed yet): the busy timeout already waited, this covers long contention.
 */
export async function retryBusy<R>(fn: () => Promise<R>, attempts = 5): Promise<R> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || !isBusyError(err)) throw err;
      await new Promise((r) => setTimeout(r, 20 * i + Math.random() * 50));
    }
  }
}
