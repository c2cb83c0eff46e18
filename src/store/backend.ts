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
  /** Applies pending migrations; runs once per open database however many references ask. */
  migrate(): Promise<void>;
  /** Gives this reference back; the last one closes the database. Calling it twice is harmless. */
  release(): Promise<void>;
}
