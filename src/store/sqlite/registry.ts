import fs from 'node:fs';
import path from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { SqlBackend } from '../backend.ts';
import { SQLITE_TRAITS } from '../dialect.ts';
import { migrateToLatest } from '../migrations/index.ts';
import type { Database } from '../schema.ts';
import { isMemoryPath, openSqliteHandles, type SqliteOpenOptions } from './open.ts';

interface Entry {
  db: Kysely<Database>;
  raw: BetterSqlite3.Database;
  refs: number;
  migrated: Promise<void> | undefined;
}

/*
 * One handle per file per process. Kysely serialises a handle's queries (and transactions) on
 * its single connection; two better-sqlite3 connections to one file in one process would instead
 * wait for each other's locks synchronously and stall the event loop until the busy timeout.
 */
const open = new Map<string, Entry>();

/** The path a SQLite file is registered under: absolute, with symlinks resolved where it exists. */
export function canonicalSqlitePath(file: string): string {
  if (isMemoryPath(file)) return file;
  const abs = path.resolve(file);
  try {
    return fs.realpathSync(abs);
  } catch {
    try {
      return path.join(fs.realpathSync(path.dirname(abs)), path.basename(abs));
    } catch {
      return abs;
    }
  }
}

/**
 * Opens the SQLite database at `file`, or takes another reference to it when this process has it
 * open already. In-memory databases are never shared (each is its own database).
 */
export function acquireSqliteBackend(file: string, opts: SqliteOpenOptions = {}): SqlBackend {
  const key = canonicalSqlitePath(file);
  const shared = !isMemoryPath(key);
  let entry = shared ? open.get(key) : undefined;
  if (!entry) {
    entry = { ...openSqliteHandles(key, opts), refs: 0, migrated: undefined };
    if (shared) open.set(key, entry);
  }
  entry.refs++;
  const e = entry;
  let released = false;
  return {
    db: e.db,
    sqlite: e.raw,
    traits: SQLITE_TRAITS,
    migrate() {
      if (!e.migrated) {
        e.migrated = migrateToLatest(e.db, 'sqlite');
        e.migrated.catch(() => (e.migrated = undefined));
      }
      return e.migrated;
    },
    async release() {
      if (released) return;
      released = true;
      if (--e.refs > 0) return;
      if (open.get(key) === e) open.delete(key);
      await e.db.destroy();
    },
  };
}
