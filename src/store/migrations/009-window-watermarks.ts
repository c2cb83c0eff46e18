import { type Kysely, type Migration } from 'kysely';
import type { SqlFlavor } from '../dialect.ts';
import { addColumnOnce, mysqlTableOptions } from './ddl.ts';

/*
 * Windows close on the stream processor's progress, not on the clock alone (see the controller):
 * - `window_watermarks`: per project, the end up to which the controller has closed windows, written
 *   before it hands them out. The stream processor reads it after each batch it stores: rows of a
 *   window that ends by then may have come too late for the window's analysis.
 * - `late_windows`: per endpoint and window, the predictions stored after the window was handed out
 *   (`predictions`), when the first and the last of them came, and how many of them a reanalysis
 *   requested since took in (`reanalyzed_predictions`, at `reanalyzed_at`).
 * - `endpoints.late_predictions`: the endpoint's total of those, shown with the endpoint.
 */
export function windowWatermarksMigration(flavor: SqlFlavor): Migration {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are typed loosely on purpose
    async up(db: Kysely<any>): Promise<void> {
      await mysqlTableOptions(db.schema.createTable('window_watermarks').ifNotExists(), flavor)
        .addColumn('project', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('closed_through', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await mysqlTableOptions(db.schema.createTable('late_windows').ifNotExists(), flavor)
        .addColumn('project', 'varchar(64)', (c) => c.notNull())
        .addColumn('endpoint_id', 'varchar(128)', (c) => c.notNull())
        .addColumn('window_start', 'bigint', (c) => c.notNull())
        .addColumn('window_end', 'bigint', (c) => c.notNull())
        .addColumn('predictions', 'bigint', (c) => c.notNull())
        .addColumn('first_late_at', 'bigint', (c) => c.notNull())
        .addColumn('last_late_at', 'bigint', (c) => c.notNull())
        .addColumn('reanalyzed_predictions', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('reanalyzed_at', 'bigint')
        .addPrimaryKeyConstraint('late_windows_pk', ['project', 'endpoint_id', 'window_start'])
        .execute();
      await addColumnOnce(db, flavor, 'endpoints', 'late_predictions', 'bigint', (c) => c.notNull().defaultTo(0));
    },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are typed loosely on purpose
    async down(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('endpoints').dropColumn('late_predictions').execute();
      await db.schema.dropTable('late_windows').ifExists().execute();
      await db.schema.dropTable('window_watermarks').ifExists().execute();
    },
  };
}
