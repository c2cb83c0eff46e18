import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { ModelwatchError } from '../../common/errors.ts';
import { isBusyError, type SqlFlavor } from '../dialect.ts';
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
 * several processes at once: on SQLite a process that loses the race sees the database busy and
 * tries again, then finds the migrations applied.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the migrator works on any schema
export async function migrateToLatest(db: Kysely<any>, flavor: SqlFlavor): Promise<void> {
  const migrator = new Migrator({ db, provider: new InlineMigrationProvider(flavor) });
  for (let attempt = 1; ; attempt++) {
    const { error, results } = await migrator.migrateToLatest();
    if (error === undefined) return;
    if (attempt < 10 && isBusyError(error)) {
      await new Promise((r) => setTimeout(r, 25 * attempt + Math.random() * 50));
      continue;
    }
    throw new MigrationError(results?.find((r) => r.status === 'Error')?.migrationName, error);
  }
}
