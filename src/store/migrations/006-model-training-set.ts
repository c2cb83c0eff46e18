import { sql, type Kysely, type Migration } from 'kysely';
import type { SqlFlavor } from '../dialect.ts';
import { addColumnOnce } from './ddl.ts';

/*
 * `models.training_set`: where `logModel` kept the training set (a Parquet file under the artifact
 * path), the reference of the data-drift-report app. Models logged before have none (null).
 */
export function modelTrainingSetMigration(flavor: SqlFlavor): Migration {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are typed loosely on purpose
    async up(db: Kysely<any>): Promise<void> {
      await addColumnOnce(db, flavor, 'models', 'training_set', flavor === 'mysql' ? sql`varchar(1024)` : sql`text`, (c) => c);
    },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are typed loosely on purpose
    async down(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('models').dropColumn('training_set').execute();
    },
  };
}
