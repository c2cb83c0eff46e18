import { sql, type Kysely, type Migration } from 'kysely';
import type { SqlFlavor } from '../dialect.ts';
import { createIndexOnce, mysqlTableOptions } from './ddl.ts';

/*
 * Ingest reliability (issue 23):
 * - `dead_letters`: events the stream processor refused (beyond the event limits, not an event) or
 *   could not store, with the reason and the event's text (cut at 64 KiB; `event_chars` is its whole
 *   length), where they were in the stream, and the endpoint and request they name when those fit.
 * - `predictions` loses its unique key (project, endpoint, request id, row): requests that share an
 *   id (clients reuse ids, ids that decode to one string) are each stored. Exactly-once rests on the
 *   stream position alone: each batch commits its partition's checkpoint in its own transaction,
 *   compared and set (see `writeIngestBatchTx`). A plain index on (project, endpoint, request id)
 *   keeps predictions findable by request id. PostgreSQL and MySQL drop the key and build the index
 *   (one pass over the table; MySQL builds it in place, taking writes meanwhile); SQLite cannot drop
 *   a table's constraint, so the table is copied once into one without it.
 * - `monitoring_events` gets a unique key (project, endpoint, app, result name, window start, kind),
 *   so that a writer batch delivered again (a crash before its acknowledgement) records its events
 *   once. The result name of events of no result (`mm-app-failed`) is stored as '' rather than null
 *   (unique keys treat nulls as distinct); duplicates already stored are deleted, the first kept.
 */

const JSON_TEXT = { mysql: sql`longtext`, postgres: sql`text`, sqlite: sql`text` } as const;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are typed loosely on purpose
type Db = Kysely<any>;

/** Migration 007 for `flavor`. */
export function ingestReliabilityMigration(flavor: SqlFlavor): Migration {
  return {
    async up(db: Db): Promise<void> {
      await createDeadLetters(db, flavor);
      await dropPredictionsUniqueKey(db, flavor);
      await keyMonitoringEvents(db, flavor);
    },
    async down(db: Db): Promise<void> {
      await db.schema.dropTable('dead_letters').ifExists().execute();
      await dropIndexOnce(db, flavor, 'monitoring_events_key', 'monitoring_events');
      await dropIndexOnce(db, flavor, 'predictions_request', 'predictions');
      await sql`create unique index predictions_request_row on predictions (project, endpoint_id, request_id, row_index)`.execute(db);
    },
  };
}

async function createDeadLetters(db: Db, flavor: SqlFlavor): Promise<void> {
  let t = mysqlTableOptions(db.schema.createTable('dead_letters').ifNotExists(), flavor);
  if (flavor === 'sqlite') t = t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
  else if (flavor === 'postgres') t = t.addColumn('id', 'bigint', (c) => c.primaryKey().generatedByDefaultAsIdentity());
  else t = t.addColumn('id', 'bigint', (c) => c.primaryKey().autoIncrement());
  await t
    .addColumn('project', 'varchar(64)', (c) => c.notNull())
    .addColumn('endpoint_id', 'varchar(128)')
    .addColumn('request_id', 'varchar(255)')
    .addColumn('stream_partition', 'integer', (c) => c.notNull())
    .addColumn('stream_offset', 'varchar(64)', (c) => c.notNull())
    .addColumn('time', 'bigint', (c) => c.notNull())
    .addColumn('reason', JSON_TEXT[flavor], (c) => c.notNull())
    .addColumn('event', JSON_TEXT[flavor], (c) => c.notNull())
    .addColumn('event_chars', 'bigint', (c) => c.notNull())
    .execute();
  await createIndexOnce(db, flavor, 'dead_letters_project_time', 'dead_letters', ['project', 'time']);
  // Retention deletes by time across projects.
  await createIndexOnce(db, flavor, 'dead_letters_time', 'dead_letters', ['time']);
}

async function dropPredictionsUniqueKey(db: Db, flavor: SqlFlavor): Promise<void> {
  if (flavor === 'postgres') {
    await sql`alter table predictions drop constraint if exists predictions_request_row`.execute(db);
  } else if (flavor === 'mysql') {
    await dropIndexOnce(db, flavor, 'predictions_request_row', 'predictions');
  } else {
    await copyPredictionsWithoutKey(db);
  }
  await createIndexOnce(db, flavor, 'predictions_request', 'predictions', ['project', 'endpoint_id', 'request_id']);
}

/**
 * SQLite: the table again without the key (the key is part of its CREATE TABLE, which SQLite cannot
 * alter), rows copied in their order, then its indexes. The migration runs in one transaction.
 */
async function copyPredictionsWithoutKey(db: Db): Promise<void> {
  const columns = sql.raw('project, endpoint_id, time, latency_us, request_id, row_index, features, outputs, labels');
  await db.schema
    .createTable('predictions_007')
    .addColumn('project', 'varchar(64)', (c) => c.notNull())
    .addColumn('endpoint_id', 'varchar(128)', (c) => c.notNull())
    .addColumn('time', 'bigint', (c) => c.notNull())
    .addColumn('latency_us', 'bigint', (c) => c.notNull())
    .addColumn('request_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('row_index', 'integer', (c) => c.notNull())
    .addColumn('features', 'text', (c) => c.notNull())
    .addColumn('outputs', 'text', (c) => c.notNull())
    .addColumn('labels', 'text')
    .execute();
  await sql`insert into predictions_007 (${columns}) select ${columns} from predictions order by rowid`.execute(db);
  await db.schema.dropTable('predictions').execute();
  await sql`alter table predictions_007 rename to predictions`.execute(db);
  // What 001 and 002 built on the old table (dropped with it).
  await createIndexOnce(db, 'sqlite', 'predictions_endpoint_time', 'predictions', ['project', 'endpoint_id', 'time']);
  await createIndexOnce(db, 'sqlite', 'predictions_project_time', 'predictions', ['project', 'time']);
  await createIndexOnce(db, 'sqlite', 'predictions_time', 'predictions', ['time']);
}

async function keyMonitoringEvents(db: Db, flavor: SqlFlavor): Promise<void> {
  await sql`update monitoring_events set result_name = '' where result_name is null`.execute(db);
  // MySQL cannot delete from a table it reads in a subquery, unless the subquery is materialized.
  await sql`delete from monitoring_events where id not in (
    select id from (select min(id) as id from monitoring_events group by project, endpoint_id, app, result_name, window_start, kind) as keep)`.execute(db);
  if (flavor === 'mysql' && (await indexExists(db, 'monitoring_events_key', 'monitoring_events'))) return;
  const ifNotExists = flavor === 'mysql' ? sql`` : sql`if not exists`;
  await sql`create unique index ${ifNotExists} monitoring_events_key on monitoring_events (project, endpoint_id, app, result_name, window_start, kind)`.execute(db);
}

/** MySQL 8 has no `if exists` on indexes: the catalog is asked (MySQL DDL commits as it goes, so a failed run runs again). */
async function indexExists(db: Db, name: string, table: string): Promise<boolean> {
  const found = await sql<{ n: number }>`
    select count(*) as n from information_schema.statistics
    where table_schema = database() and table_name = ${table} and index_name = ${name}`.execute(db);
  return Number(found.rows[0]?.n ?? 0) > 0;
}

async function dropIndexOnce(db: Db, flavor: SqlFlavor, name: string, table: string): Promise<void> {
  if (flavor !== 'mysql') {
    await db.schema.dropIndex(name).ifExists().execute();
    return;
  }
  if (await indexExists(db, name, table)) await db.schema.dropIndex(name).on(table).execute();
}
