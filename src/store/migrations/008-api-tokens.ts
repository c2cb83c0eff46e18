import type { Kysely, Migration } from 'kysely';
import type { SqlFlavor } from '../dialect.ts';
import { mysqlTableOptions } from './ddl.ts';

/*
 * `api_tokens`: the per-person API tokens (`modelwatch tokens create`). A row keeps the token's id,
 * whose it is, its role and project, and an scrypt hash of the token, never the token. Revoked
 * tokens keep their row (with `revoked_at`), so that revoking every token never turns
 * authentication off.
 */
export function apiTokensMigration(flavor: SqlFlavor): Migration {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are typed loosely on purpose
    async up(db: Kysely<any>): Promise<void> {
      await mysqlTableOptions(db.schema.createTable('api_tokens').ifNotExists(), flavor)
        .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
        .addColumn('name', 'varchar(255)', (c) => c.notNull())
        .addColumn('role', 'varchar(16)', (c) => c.notNull())
        .addColumn('project', 'varchar(64)')
        .addColumn('hash', 'varchar(255)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .execute();
    },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are typed loosely on purpose
    async down(db: Kysely<any>): Promise<void> {
      await db.schema.dropTable('api_tokens').ifExists().execute();
    },
  };
}
