import { Migrator, sql, type Kysely, type Migration, type MigrationProvider, type MigrationResult } from 'kysely';
import { ModelwatchError } from '../../common/errors.ts';
import { retryBusy, type SqlFlavor } from '../dialect.ts';
import { initialMigration } from './001-initial.ts';

/**
 * Every schema migration, in order. Names sort by their numeric prefix; a migration is never
 * edited once released — a change is a new entry.
 */
export function migrations(flavor: SqlFlavor): Record<string, Migration> {
  return {
    '001-initial': initialMigration(flavor),
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
 * several processes at once. PostgreSQL and MySQL serialise through Kysely's migration lock. On
 * SQLite Kysely takes no lock and runs each statement on its own, so the whole run goes inside one
 * `BEGIN IMMEDIATE` transaction: the first process migrates, the others wait on the write lock and
 * then find nothing to do, and a failed migration leaves no half-built schema (SQLite DDL is
 * transactional).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the migrator works on any schema
export async function migrateToLatest(db: Kysely<any>, flavor: SqlFlavor): Promise<void> {
  const provider = new InlineMigrationProvider(flavor);
  if (flavor !== 'sqlite') {
    const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
    if (error !== undefined) throw new MigrationError(failedName(results), error);
    return;
  }
  await db.connection().execute(async (conn) => {
    await retryBusy(() => sql`begin immediate`.execute(conn));
    try {
      const { error, results } = await new Migrator({ db: conn, provider }).migrateToLatest();
      if (error !== undefined) throw new MigrationError(failedName(results), error);
      await sql`commit`.execute(conn);
    } catch (err) {
      await sql`rollback`.execute(conn).catch(() => undefined);
      throw err;
    }
  });
}

function failedName(results: readonly MigrationResult[] | undefined): string | undefined {
  return results?.find((r) => r.status === 'Error')?.migrationName;
}
