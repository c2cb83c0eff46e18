import { Migrator, sql, type Kysely, type Migration, type MigrationProvider, type MigrationResult } from 'kysely';
import { ModelwatchError } from '../../common/errors.ts';
import { retryBusy, type SqlFlavor } from '../dialect.ts';
import { initialMigration } from './001-initial.ts';
import { timeIndexesMigration } from './002-time-indexes.ts';
import { analysisClaimsMigration } from './003-analysis-claims.ts';
import { predictionRollupsMigration } from './004-prediction-rollups.ts';
import { windowCategoriesMigration } from './005-window-categories.ts';
import { modelTrainingSetMigration } from './006-model-training-set.ts';
import { ingestReliabilityMigration } from './007-ingest-reliability.ts';
import { apiTokensMigration } from './008-api-tokens.ts';
import { windowWatermarksMigration } from './009-window-watermarks.ts';

/**
 * Every schema migration, in order. Names sort by their numeric prefix; a migration is never
 * edited once released — a change is a new entry.
 */
export function migrations(flavor: SqlFlavor): Record<string, Migration> {
  return {
    '001-initial': initialMigration(flavor),
    '002-time-indexes': timeIndexesMigration(flavor),
    '003-analysis-claims': analysisClaimsMigration(),
    '004-prediction-rollups': predictionRollupsMigration(flavor),
    '005-window-categories': windowCategoriesMigration(flavor),
    '006-model-training-set': modelTrainingSetMigration(flavor),
    '007-ingest-reliability': ingestReliabilityMigration(flavor),
    '008-api-tokens': apiTokensMigration(flavor),
    '009-window-watermarks': windowWatermarksMigration(flavor),
  };
}

/** Kysely's `MigrationProvider` over the inline migrations (no file-system scanning, so it works bundled). */
export class InlineMigrationProvider implements MigrationProvider {
  private readonly flavor: SqlFlavor;
  constructor(flavor: SqlFlavor) {
    this.flavor = flavor;
  }
  getMigrations(): Promise<Record<string, Migration>> {
    return Promise.resolve(migrations(this.flavor));
  }
}

/** A migration failed; `cause` is the engine's error. */
export class MigrationError extends ModelwatchError {
  constructor(migration: string | undefined, cause: unknown) {
    super('migration_failed', `database migration ${migration ? `'${migration}' ` : ''}failed`, { httpStatus: 500, cause });
  }
}

/**
 * Brings the schema to the latest version, recorded in `kysely_migration`. Safe to call from
 * several processes at once:
 * - PostgreSQL and MySQL: the whole run (Kysely's bookkeeping tables included, which it creates
 *   before taking its own lock) holds a database-wide advisory lock on one connection —
 *   `pg_advisory_lock`, or MySQL's `GET_LOCK` named after the database (its locks are server-wide).
 *   The first process migrates, the others wait and then find nothing to do. PostgreSQL runs the
 *   migrations in one transaction; MySQL DDL commits as it goes, so its migrations are written to
 *   run again after a failure.
 * - SQLite: Kysely takes no lock and runs each statement on its own, so the whole run goes inside
 *   one `BEGIN IMMEDIATE` transaction: the others wait on the write lock, and a failed migration
 *   leaves no half-built schema (SQLite DDL is transactional).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the migrator works on any schema
export async function migrateToLatest(db: Kysely<any>, flavor: SqlFlavor): Promise<void> {
  const provider = new InlineMigrationProvider(flavor);
  const run = async (conn: Kysely<unknown>): Promise<void> => {
    const { error, results } = await new Migrator({ db: conn, provider }).migrateToLatest();
    if (error !== undefined) throw new MigrationError(failedName(results), error);
  };
  if (flavor === 'postgres') {
    await db.connection().execute(async (conn) => {
      // A migration may outlast the pool's 60 s lock timeout; the lock waits up to 10 minutes.
      await sql`set lock_timeout = '600s'`.execute(conn);
      await sql`select pg_advisory_lock(${sql.lit(PG_MIGRATION_LOCK)})`.execute(conn);
      try {
        await run(conn);
      } finally {
        await sql`select pg_advisory_unlock(${sql.lit(PG_MIGRATION_LOCK)})`.execute(conn);
        await sql`set lock_timeout = '60s'`.execute(conn);
      }
    });
    return;
  }
  if (flavor === 'mysql') {
    await db.connection().execute(async (conn) => {
      const name = sql`concat('modelwatch-migrate:', sha1(coalesce(database(), '')))`;
      const got = await sql<{ ok: number | null }>`select get_lock(${name}, 600) as ok`.execute(conn);
      if (Number(got.rows[0]?.ok ?? 0) !== 1) throw new MigrationError(undefined, new Error('timed out waiting for the migration lock'));
      try {
        await run(conn);
      } finally {
        await sql`select release_lock(${name})`.execute(conn);
      }
    });
    return;
  }
  await db.connection().execute(async (conn) => {
    await retryBusy(() => sql`begin immediate`.execute(conn));
    try {
      await run(conn);
      await sql`commit`.execute(conn);
    } catch (err) {
      await sql`rollback`.execute(conn).catch(() => undefined);
      throw err;
    }
  });
}

/** Key of modelwatch's migration advisory lock on PostgreSQL (advisory locks are per database). */
const PG_MIGRATION_LOCK = 7_312_022_811_004;

function failedName(results: readonly MigrationResult[] | undefined): string | undefined {
  return results?.find((r) => r.status === 'Error')?.migrationName;
}
