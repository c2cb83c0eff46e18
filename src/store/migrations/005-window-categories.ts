import { sql, type Kysely, type Migration } from 'kysely';
import type { SqlFlavor } from '../dialect.ts';
import { addColumnOnce } from './ddl.ts';

/*
 * `window_histograms` keeps, beside the counts on the reference edges:
 * - `at_max`: how many of the window's values equal the reference maximum. They are now counted in
 *   the last real bin, where the reference has them, and the drift app moves them to the upper
 *   padding bin for the peer's numbers (`binning: 'mlrun'`). Rows written before stay null: their
 *   counts follow the old rule, so their windows are binned again from the stored rows.
 * - `categories` and `category_other`: a categorical feature's counts of the reference's
 *   categories (JSON object) and of the values that are none of them.
 */
export function windowCategoriesMigration(flavor: SqlFlavor): Migration {
  const json = flavor === 'mysql' ? sql`longtext` : sql`text`;
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are typed loosely on purpose
    async up(db: Kysely<any>): Promise<void> {
      await addColumnOnce(db, flavor, 'window_histograms', 'at_max', 'bigint', (c) => c);
      await addColumnOnce(db, flavor, 'window_histograms', 'categories', json, (c) => c);
      await addColumnOnce(db, flavor, 'window_histograms', 'category_other', 'bigint', (c) => c.notNull().defaultTo(0));
    },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are typed loosely on purpose
    async down(db: Kysely<any>): Promise<void> {
      for (const column of ['category_other', 'categories', 'at_max']) await db.schema.alterTable('window_histograms').dropColumn(column).execute();
    },
  };
}
