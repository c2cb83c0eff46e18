import type { Kysely } from 'kysely';
import type { SqlBackend } from './backend.ts';
import type { DialectTraits } from './dialect.ts';
import { migrateToLatest } from './migrations/index.ts';
import type { Database } from './schema.ts';

interface Entry {
  db: Kysely<Database>;
  traits: DialectTraits;
  refs: number;
  migrated: Promise<void> | undefined;
}

/*
 * One connection pool per URL per process, for the server engines (PostgreSQL, MySQL): the store
 * and the tsdb of one URL, and every project whose credentials name it, share the pool instead of
 * each holding its own connections. The SQLite counterpart is `sqlite/registry.ts`.
 */
const pools = new Map<string, Entry>();

/**
 * Takes a reference to the pool registered under `key` (the connection URL, password included, so
 * that two users never share a pool), creating it with `open` the first time. Pools connect
 * lazily, so nothing here waits on the server.
 */
export function acquirePooledBackend(key: string, traits: DialectTraits, open: () => Kysely<Database>): SqlBackend {
  let entry = pools.get(key);
  if (!entry) {
    entry = { db: open(), traits, refs: 0, migrated: undefined };
    pools.set(key, entry);
  }
  entry.refs++;
  const e = entry;
  let released = false;
  return {
    db: e.db,
    traits: e.traits,
    migrate() {
      if (!e.migrated) {
        e.migrated = migrateToLatest(e.db, e.traits.flavor);
        e.migrated.catch(() => (e.migrated = undefined));
      }
      return e.migrated;
    },
    async release() {
      if (released) return;
      released = true;
      if (--e.refs > 0) return;
      if (pools.get(key) === e) pools.delete(key);
      await e.db.destroy();
    },
  };
}

/** How many pools this process holds open (for tests and diagnostics). */
export function openPoolCount(): number {
  return pools.size;
}
