import { sql, type ColumnDefinitionBuilder, type CreateTableBuilder, type Kysely, type Migration } from 'kysely';
import type { SqlFlavor } from '../dialect.ts';
import { createIndexOnce, mysqlTableOptions } from './ddl.ts';

/*
 * Written once for SQLite, PostgreSQL and MySQL/MariaDB:
 * - keys are bounded varchar, because MySQL indexes only bounded columns (3072 bytes per key
 *   with utf8mb4, so every composite key below stays under 768 characters);
 * - JSON is text (MySQL `longtext`, since its `text` stops at 64 KB and reference stats grow past it);
 * - times are epoch ms in bigint, measures in double precision, booleans in integer;
 * - on MySQL every table is InnoDB in utf8mb4 with the binary collation, so that keys compare
 *   byte for byte as on SQLite and PostgreSQL (the server default `utf8mb4_general_ci` would make
 *   `Age` and `age` one key), and `predictions` gets an auto-increment primary key: InnoDB
 *   clusters rows on the primary key, or else on the first unique key, which for predictions is
 *   (project, endpoint, request id, row) — random order for ingest and wide secondary indexes;
 * - tables and indexes are created "if not exists": MySQL DDL is not transactional, so a run that
 *   failed half-way must be able to run again.
 */

const PROJECT = 'varchar(64)';
const ENDPOINT = 'varchar(128)';
const FUNCTION = 'varchar(64)';
const NAME = 'varchar(255)';
const DOUBLE = sql`double precision`;

/* eslint-disable @typescript-eslint/no-explicit-any -- migrations describe a schema that moves on; they are typed loosely on purpose */
type Table = CreateTableBuilder<any, any>;

function notNull(c: ColumnDefinitionBuilder): ColumnDefinitionBuilder {
  return c.notNull();
}

/** The first schema. `flavor` covers the spots where the engines cannot share one spelling. */
export function initialMigration(flavor: SqlFlavor): Migration {
  const json = flavor === 'mysql' ? sql`longtext` : sql`text`;
  /** Free text (messages, errors): MySQL `text` stops at 64 KB. */
  const longText = flavor === 'mysql' ? sql`longtext` : sql`text`;
  const autoId = (t: Table): Table => {
    if (flavor === 'sqlite') return t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
    if (flavor === 'postgres') return t.addColumn('id', 'bigint', (c) => c.primaryKey().generatedByDefaultAsIdentity());
    return t.addColumn('id', 'bigint', (c) => c.primaryKey().autoIncrement());
  };

  return {
    async up(db: Kysely<any>): Promise<void> {
      const s = { createTable: (name: string): Table => mysqlTableOptions(db.schema.createTable(name).ifNotExists(), flavor) };
      const index = (name: string, table: string, columns: string[]) => createIndexOnce(db, flavor, name, table, columns);

      // ---- platform data -------------------------------------------------------------------
      await s
        .createTable('projects')
        .addColumn('name', PROJECT, (c) => c.primaryKey())
        .addColumn('description', longText, notNull)
        .addColumn('labels', json, notNull)
        .addColumn('monitoring', json)
        .addColumn('created_at', 'bigint', notNull)
        .execute();

      await s
        .createTable('functions')
        .addColumn('project', PROJECT, notNull)
        .addColumn('name', FUNCTION, notNull)
        .addColumn('kind', 'varchar(32)', notNull)
        .addColumn('spec', json, notNull)
        .addColumn('labels', json, notNull)
        .addColumn('deployed', 'integer', notNull)
        .addColumn('status', json, notNull)
        .addColumn('created_at', 'bigint', notNull)
        .addColumn('updated_at', 'bigint', notNull)
        .addPrimaryKeyConstraint('functions_pk', ['project', 'name'])
        .execute();

      await s
        .createTable('models')
        .addColumn('project', PROJECT, notNull)
        .addColumn('model_key', NAME, notNull)
        .addColumn('tag', 'varchar(64)', notNull)
        .addColumn('uri', 'varchar(1024)', notNull)
        .addColumn('model_file', longText)
        .addColumn('class_name', NAME)
        .addColumn('feature_names', json, notNull)
        .addColumn('label_names', json, notNull)
        .addColumn('feature_stats', json, notNull)
        .addColumn('labels', json, notNull)
        .addColumn('created_at', 'bigint', notNull)
        .addPrimaryKeyConstraint('models_pk', ['project', 'model_key', 'tag'])
        .execute();

      await s
        .createTable('endpoints')
        .addColumn('project', PROJECT, notNull)
        .addColumn('id', ENDPOINT, notNull)
        .addColumn('name', NAME, notNull)
        .addColumn('function', FUNCTION, notNull)
        .addColumn('model', NAME, notNull)
        .addColumn('model_version', 'varchar(64)', notNull)
        .addColumn('model_uri', 'varchar(1024)', notNull)
        .addColumn('tag', 'varchar(64)', notNull)
        .addColumn('feature_names', json, notNull)
        .addColumn('label_names', json, notNull)
        .addColumn('feature_stats', json, notNull)
        .addColumn('current_stats', json, notNull)
        .addColumn('first_request', 'bigint')
        .addColumn('last_request', 'bigint')
        .addColumn('error_count', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('drift_status', 'varchar(32)', notNull)
        .addColumn('drift_measures', json, notNull)
        .addColumn('monitoring_mode', 'varchar(16)', notNull)
        .addColumn('labels', json, notNull)
        .addColumn('metrics', json, notNull)
        .addColumn('created_at', 'bigint', notNull)
        .addColumn('updated_at', 'bigint', notNull)
        .addPrimaryKeyConstraint('endpoints_pk', ['project', 'id'])
        .execute();

      await s
        .createTable('analysis_state')
        .addColumn('project', PROJECT, notNull)
        .addColumn('endpoint_id', ENDPOINT, notNull)
        .addColumn('app', FUNCTION, notNull)
        .addColumn('last_window_end', 'bigint', notNull)
        .addPrimaryKeyConstraint('analysis_state_pk', ['project', 'endpoint_id', 'app'])
        .execute();

      await s
        .createTable('leases')
        .addColumn('name', NAME, (c) => c.primaryKey())
        .addColumn('holder', NAME, notNull)
        .addColumn('expires_at', 'bigint', notNull)
        .execute();

      await autoId(s.createTable('monitoring_events'))
        .addColumn('project', PROJECT, notNull)
        .addColumn('kind', 'varchar(64)', notNull)
        .addColumn('endpoint_id', ENDPOINT, notNull)
        .addColumn('app', FUNCTION, notNull)
        .addColumn('result_name', NAME)
        .addColumn('value', DOUBLE)
        .addColumn('kind_value', 'integer')
        .addColumn('status', 'integer')
        .addColumn('window_start', 'bigint', notNull)
        .addColumn('window_end', 'bigint', notNull)
        .addColumn('message', longText, notNull)
        .addColumn('time', 'bigint', notNull)
        .execute();
      await index('monitoring_events_project_time', 'monitoring_events', ['project', 'time']);

      await s
        .createTable('credentials')
        .addColumn('project', PROJECT, (c) => c.primaryKey())
        .addColumn('data', json, notNull)
        .execute();

      // ---- time series ---------------------------------------------------------------------
      let predictions = s.createTable('predictions');
      if (flavor === 'mysql') predictions = predictions.addColumn('id', 'bigint', (c) => c.primaryKey().autoIncrement());
      await predictions
        .addColumn('project', PROJECT, notNull)
        .addColumn('endpoint_id', ENDPOINT, notNull)
        .addColumn('time', 'bigint', notNull)
        .addColumn('latency_us', 'bigint', notNull)
        .addColumn('request_id', NAME, notNull)
        .addColumn('row_index', 'integer', notNull)
        .addColumn('features', json, notNull)
        .addColumn('outputs', json, notNull)
        .addColumn('labels', json)
        .addUniqueConstraint('predictions_request_row', ['project', 'endpoint_id', 'request_id', 'row_index'])
        .execute();
      await index('predictions_endpoint_time', 'predictions', ['project', 'endpoint_id', 'time']);
      await index('predictions_project_time', 'predictions', ['project', 'time']);

      await s
        .createTable('errors')
        .addColumn('project', PROJECT, notNull)
        .addColumn('endpoint_id', ENDPOINT, notNull)
        .addColumn('time', 'bigint', notNull)
        .addColumn('request_id', NAME, notNull)
        .addColumn('error', longText, notNull)
        .execute();
      await index('errors_endpoint_time', 'errors', ['project', 'endpoint_id', 'time']);

      await s
        .createTable('window_histograms')
        .addColumn('project', PROJECT, notNull)
        .addColumn('endpoint_id', ENDPOINT, notNull)
        .addColumn('window_start', 'bigint', notNull)
        .addColumn('window_end', 'bigint', notNull)
        .addColumn('feature', NAME, notNull)
        .addColumn('counts', json, notNull)
        .addColumn('count', 'bigint', notNull)
        .addColumn('missing', 'bigint', notNull)
        .addColumn('sum', DOUBLE, notNull)
        .addColumn('sum_sq', DOUBLE, notNull)
        .addColumn('min', DOUBLE)
        .addColumn('max', DOUBLE)
        .addPrimaryKeyConstraint('window_histograms_pk', ['project', 'endpoint_id', 'window_start', 'feature'])
        .execute();

      await s
        .createTable('app_results')
        .addColumn('project', PROJECT, notNull)
        .addColumn('endpoint_id', ENDPOINT, notNull)
        .addColumn('app', FUNCTION, notNull)
        .addColumn('name', NAME, notNull)
        .addColumn('kind', 'integer', notNull)
        .addColumn('status', 'integer', notNull)
        .addColumn('value', DOUBLE, notNull)
        .addColumn('extra_data', json, notNull)
        .addColumn('window_start', 'bigint', notNull)
        .addColumn('window_end', 'bigint', notNull)
        .addColumn('written_at', 'bigint', notNull)
        .addUniqueConstraint('app_results_key', ['project', 'endpoint_id', 'app', 'name', 'window_start'])
        .execute();
      await index('app_results_project_window', 'app_results', ['project', 'window_start']);

      await s
        .createTable('metrics')
        .addColumn('project', PROJECT, notNull)
        .addColumn('endpoint_id', ENDPOINT, notNull)
        .addColumn('app', FUNCTION, notNull)
        .addColumn('name', NAME, notNull)
        .addColumn('value', DOUBLE, notNull)
        .addColumn('window_start', 'bigint', notNull)
        .addColumn('window_end', 'bigint', notNull)
        .addColumn('written_at', 'bigint', notNull)
        .addUniqueConstraint('metrics_key', ['project', 'endpoint_id', 'app', 'name', 'window_start'])
        .execute();
      await index('metrics_project_window', 'metrics', ['project', 'window_start']);

      await s
        .createTable('ingest_checkpoints')
        .addColumn('consumer', NAME, notNull)
        .addColumn('stream_partition', 'integer', notNull)
        .addColumn('stream_offset', 'varchar(64)', notNull)
        .addPrimaryKeyConstraint('ingest_checkpoints_pk', ['consumer', 'stream_partition'])
        .execute();
    },

    async down(db: Kysely<any>): Promise<void> {
      const tables = [
        'ingest_checkpoints', 'metrics', 'app_results', 'window_histograms', 'errors', 'predictions',
        'credentials', 'monitoring_events', 'leases', 'analysis_state', 'endpoints', 'models', 'functions', 'projects',
      ];
      for (const t of tables) await db.schema.dropTable(t).ifExists().execute();
    },
  };
}
