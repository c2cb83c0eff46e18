import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { makePrivateDatabaseFile } from '../../common/private-files.ts';
import type { Database } from '../schema.ts';

/** Options for {@link openSqliteDatabase}. */
export interface SqliteOpenOptions {
  /** Milliseconds a statement waits for another process's lock before failing. @default 5000 */
  busyTimeoutMs?: number;
}

/** True for SQLite's in-memory database names, which have no parent folder to create. */
export function isMemoryPath(file: string): boolean {
  return file === ':memory:' || file.startsWith('file::memory:');
}

/**
 * Opens (creating if needed) a SQLite database file through better-sqlite3 and sets it up for
 * several processes (server and workers) sharing it: WAL lets readers run beside the one writer,
 * `busy_timeout` makes a writer wait for the lock instead of failing at once, and
 * `synchronous=NORMAL` is durable across process crashes in WAL mode (only a power loss can drop
 * the last commits) at a fraction of FULL's cost. Foreign keys stay off: the schema relies on none.
 *
 * Within one process open each file once (see `store/sqlite/registry.ts`): better-sqlite3 waits
 * for locks synchronously, so two handles on one file in one process can block each other.
 */
export function openSqliteDatabase(file: string, opts: SqliteOpenOptions = {}): Kysely<Database> {
  return openSqliteHandles(file, opts).db;
}

/**
 * As {@link openSqliteDatabase}, also handing out the better-sqlite3 handle behind the Kysely one,
 * for statements prepared once and reused (the ingest path). Use `raw` only while holding Kysely's
 * connection (`db.connection().execute(...)`), so that it never runs inside a Kysely transaction.
 */
export function openSqliteHandles(file: string, opts: SqliteOpenOptions = {}): { db: Kysely<Database>; raw: BetterSqlite3.Database } {
  if (!isMemoryPath(file)) {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    // A `file:` URI names its file in its own syntax; SQLite creates that one.
    if (!file.startsWith('file:')) makePrivateDatabaseFile(file);
  }
  const raw = new BetterSqlite3(file, { timeout: opts.busyTimeoutMs ?? 5000 });
  try {
    raw.pragma(`busy_timeout = ${Math.trunc(opts.busyTimeoutMs ?? 5000)}`);
    if (!isMemoryPath(file)) raw.pragma('journal_mode = WAL');
    raw.pragma('synchronous = NORMAL');
    raw.pragma('foreign_keys = OFF');
  } catch (err) {
    raw.close();
    throw err;
  }
  // Kysely's `destroy()` closes `raw`.
  return { db: new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }) }), raw };
}
