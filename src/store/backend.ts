import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { DialectTraits } from './dialect.ts';
import type { Database } from './schema.ts';

/**
 * One reference to an open SQL database: the Kysely handle, what its engine can do, and a
 * reference-counted close. The store and the tsdb of one URL share it (see `connect.ts`).
 */
export interface SqlBackend {
  readonly db: Kysely<Database>;
  readonly traits: DialectTraits;
  /**
   * SQLite only: the better-sqlite3 handle behind `db`, for statements prepared once and reused.
   * Use it only while holding `db`'s connection (`db.connection().execute(...)`).
   */
  readonly sqlite?: BetterSqlite3.Database;
  /** Applies pending migrations; runs once per open database however many references ask. */
  migrate(): Promise<void>;
  /** Gives this reference back; the last one closes the database. Calling it twice is harmless. */
  release(): Promise<void>;
}
