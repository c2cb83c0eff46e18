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
}

export const SQLITE_TRAITS: DialectTraits = Object.freeze({ flavor: 'sqlite', maxParams: 32766 });

/* eslint-disable @typescript-eslint/no-explicit-any -- the generic helpers below build rows and SETs from column lists */
type AnyDb = Kysely<any>;
type AnyObject = any;
/* eslint-enable @typescript-eslint/no-explicit-any */

/** Splits rows so that one INSERT stays under the engine's bound-parameter limit. */
export function chunkRows<T extends object>(rows: readonly T[], traits: DialectTraits): T[][] {
  const first = rows[0];
  if (!first) return [];
  const perRow = Math.max(1, Object.keys(first).length);
  const size = Math.max(1, Math.floor(traits.maxParams / perRow));
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}

/**
 * INSERT that silently skips rows violating a unique key: `ON CONFLICT DO NOTHING` on SQLite and
 * PostgreSQL, `INSERT IGNORE` on MySQL. Returns the number of rows inserted.
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
    const r = await (traits.flavor === 'mysql' ? q.ignore() : q.onConflict((oc) => oc.doNothing())).executeTakeFirst();
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
      const set: AnyObject = Object.fromEntries(update.map((c) => [c, sql`values(${sql.ref(c)})`]));
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
 * busy timeout instead). Other engines use their ordinary transaction plus row locks
 * (`forUpdate`) where the caller reads before writing.
 */
export async function writeTx<R>(db: Kysely<Database>, traits: DialectTraits, fn: (tx: Kysely<Database>) => Promise<R>): Promise<R> {
  if (traits.flavor !== 'sqlite') return db.transaction().execute(fn);
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
