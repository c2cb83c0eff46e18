import type { Kysely, Migration } from 'kysely';
import type { SqlFlavor } from '../dialect.ts';
import { createIndexOnce } from './ddl.ts';

/*
 * - Indexes led by time, for retention (`deleteOlderThan`): it deletes across every project and
 *   endpoint, which the (project, endpoint, time) indexes cannot serve. Without them each batch
 *   would scan the table — and on PostgreSQL rescan the dead rows of the batches before it.
 * - (project, endpoint, window start) on results and metrics, for one endpoint's series over a
 *   time range whatever the app and name (their unique keys put app and name before the time).
 */
const INDEXES: readonly [name: string, table: string, columns: string[]][] = [
  ['predictions_time', 'predictions', ['time']],
  ['errors_time', 'errors', ['time']],
  ['window_histograms_window_end', 'window_histograms', ['window_end']],
  ['app_results_window_end', 'app_results', ['window_end']],
  ['metrics_window_end', 'metrics', ['window_end']],
  ['app_results_endpoint_window', 'app_results', ['project', 'endpoint_id', 'window_start']],
  ['metrics_endpoint_window', 'metrics', ['project', 'endpoint_id', 'window_start']],
];

/** Time-led indexes for retention, and per-endpoint time indexes for results and metrics. */
export function timeIndexesMigration(flavor: SqlFlavor): Migration {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are typed loosely on purpose
    async up(db: Kysely<any>): Promise<void> {
      for (const [name, table, columns] of INDEXES) await createIndexOnce(db, flavor, name, table, columns);
    },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are typed loosely on purpose
    async down(db: Kysely<any>): Promise<void> {
      for (const [name, table] of INDEXES) {
        await (flavor === 'mysql' ? db.schema.dropIndex(name).on(table) : db.schema.dropIndex(name).ifExists()).execute();
      }
    },
  };
}
