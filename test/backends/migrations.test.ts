import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Migrator, sql, type Kysely } from 'kysely';
import type { SqlFlavor } from '../../src/store/dialect.ts';
import { InlineMigrationProvider, migrateToLatest } from '../../src/store/migrations/index.ts';
import { openMysqlDatabase } from '../../src/store/mysql/open.ts';
import { openPostgresDatabase } from '../../src/store/postgres/open.ts';
import type { Database } from '../../src/store/schema.ts';
import { openSqliteHandles } from '../../src/store/sqlite/open.ts';
import { rowToHistogram } from '../../src/store/tsdb-rows.ts';
import { FreshDatabases, selectedBackends, unavailableReason } from './servers.ts';

/*
 * Upgrades from an earlier schema version with data in it, on every SQL backend: what a release
 * adding a migration meets on a running installation.
 */
function open(backend: string, url: string): { db: Kysely<Database>; flavor: SqlFlavor } {
  if (backend === 'sqlite') return { db: openSqliteHandles(url.replace(/^sqlite:\/\//, '')).db, flavor: 'sqlite' };
  if (backend === 'postgres') return { db: openPostgresDatabase(url), flavor: 'postgres' };
  return { db: openMysqlDatabase(url), flavor: 'mysql' };
}

for (const backend of selectedBackends()) {
  const reason = await unavailableReason(backend);
  describe(`Migrations: ${backend}`, { skip: reason }, () => {
    const dbs = new FreshDatabases(backend);
    after(() => dbs.dropAll());

    it('004 adds the prediction rollups, summing up the last two hours of stored predictions', async () => {
      const { db, flavor } = open(backend, await dbs.create());
      try {
        const to003 = await new Migrator({ db, provider: new InlineMigrationProvider(flavor) }).migrateTo('003-analysis-claims');
        assert.equal(to003.error, undefined);
        const now = Date.now();
        const bucket = (t: number) => Math.floor(t / 10_000) * 10_000;
        const times = [now - 3 * 3600_000, now - 30 * 60_000, now - 30 * 60_000 + 1, now - 60_000, now - 59_000];
        await db
          .insertInto('predictions')
          .values(times.map((time, i) => ({ project: 'p', endpoint_id: i === 4 ? 'e2' : 'e1', time, latency_us: 100 * (i + 1), request_id: `r${i}`, row_index: 0, features: '[1]', outputs: '[0]', labels: null })))
          .execute();
        await migrateToLatest(db, flavor);
        const rows = await db.selectFrom('prediction_rollups').selectAll().orderBy('endpoint_id').orderBy('bucket_start').execute();
        const want = new Map<string, { predictions: number; latency_us_sum: number }>();
        times.forEach((t, i) => {
          if (t < now - 2 * 3600_000 - 1000) return; // older than the two hours summed up
          const key = `${i === 4 ? 'e2' : 'e1'} ${bucket(t)}`;
          const w = want.get(key) ?? { predictions: 0, latency_us_sum: 0 };
          want.set(key, { predictions: w.predictions + 1, latency_us_sum: w.latency_us_sum + 100 * (i + 1) });
        });
        assert.deepEqual(
          new Map(rows.map((r) => [`${r.endpoint_id} ${Number(r.bucket_start)}`, { predictions: Number(r.predictions), latency_us_sum: Number(r.latency_us_sum) }])),
          want,
        );
        await migrateToLatest(db, flavor); // nothing left to do
        assert.equal(Number((await sql<{ n: number }>`select count(*) as n from prediction_rollups`.execute(db)).rows[0]?.n), rows.length);
      } finally {
        await db.destroy();
      }
    });

    it('005 adds values at the maximum (null on rows counted before) and category counts to window histograms', async () => {
      const { db, flavor } = open(backend, await dbs.create());
      try {
        const to004 = await new Migrator({ db, provider: new InlineMigrationProvider(flavor) }).migrateTo('004-prediction-rollups');
        assert.equal(to004.error, undefined);
        const old = { project: 'p', endpoint_id: 'e', window_start: 0, window_end: 600_000, feature: 'x', counts: '[0,2,1,0]', count: 3, missing: 1, sum: 4, sum_sq: 6, min: 1, max: 2 };
        await sql`insert into window_histograms (project, endpoint_id, window_start, window_end, feature, counts, count, missing, sum, sum_sq, min, max)
          values (${old.project}, ${old.endpoint_id}, ${old.window_start}, ${old.window_end}, ${old.feature}, ${old.counts}, ${old.count}, ${old.missing}, ${old.sum}, ${old.sum_sq}, ${old.min}, ${old.max})`.execute(db);
        // MySQL DDL commits as it goes: a run that failed after its first column must run again.
        if (flavor === 'mysql') await sql`alter table window_histograms add column at_max bigint`.execute(db);
        await migrateToLatest(db, flavor);
        const row = await db.selectFrom('window_histograms').selectAll().executeTakeFirstOrThrow();
        assert.deepEqual(rowToHistogram(row), {
          project: 'p', endpointId: 'e', windowStart: 0, windowEnd: 600_000, feature: 'x', counts: [0, 2, 1, 0],
          atMax: null, categories: null, categoryOther: 0, count: 3, missing: 1, sum: 4, sumSq: 6, min: 1, max: 2,
        });
        const fresh = { ...old, feature: 'origin', counts: '[]', at_max: 0, categories: '{"USA":2}', category_other: 1, min: null, max: null };
        await db.insertInto('window_histograms').values(fresh).execute();
        const back = await db.selectFrom('window_histograms').selectAll().where('feature', '=', 'origin').executeTakeFirstOrThrow();
        assert.deepEqual([rowToHistogram(back).categories, rowToHistogram(back).categoryOther, rowToHistogram(back).atMax], [{ USA: 2 }, 1, 0]);
        await migrateToLatest(db, flavor); // nothing left to do
      } finally {
        await db.destroy();
      }
    });

    it('007 drops the predictions key, adds dead letters, and keys monitoring events (duplicates already stored deleted, the first kept)', async () => {
      const { db, flavor } = open(backend, await dbs.create());
      try {
        const to006 = await new Migrator({ db, provider: new InlineMigrationProvider(flavor) }).migrateTo('006-model-training-set');
        assert.equal(to006.error, undefined);
        const prediction = (i: number) => ({ project: 'p', endpoint_id: 'e', time: 1000 + i, latency_us: 5, request_id: `r${i}`, row_index: 0, features: '[1]', outputs: '[0]', labels: null });
        await db.insertInto('predictions').values([0, 1, 2, 3, 4].map(prediction)).execute();
        // Ids from the table's own sequence, in this order: `time` names each row.
        const event = (n: number, kind: string, result: string | null, window: number) => ({
          project: 'p', kind, endpoint_id: 'e', app: 'a', result_name: result, value: null, kind_value: null, status: null, window_start: window, window_end: window + 60_000, message: `m${n}`, time: n,
        });
        for (const e of [
          event(1, 'data-drift-detected', 'general_drift', 0),
          event(2, 'data-drift-detected', 'general_drift', 0),
          event(3, 'mm-app-failed', null, 0),
          event(4, 'mm-app-failed', null, 0),
          event(5, 'mm-app-failed', null, 60_000),
        ]) {
          await db.insertInto('monitoring_events').values(e).execute();
        }
        await migrateToLatest(db, flavor);

        // Requests that share an id, and even a row index, are each stored now.
        await db.insertInto('predictions').values({ ...prediction(0), time: 9999 }).execute();
        const r0 = await db.selectFrom('predictions').select('time').where('project', '=', 'p').where('endpoint_id', '=', 'e').where('request_id', '=', 'r0').orderBy('time').execute();
        assert.deepEqual(r0.map((r) => Number(r.time)), [1000, 9999]);
        assert.equal(Number((await sql<{ n: number }>`select count(*) as n from predictions`.execute(db)).rows[0]?.n), 6);
        const indexes = await predictionIndexes(db, flavor);
        assert.ok(indexes.includes('predictions_request'), `indexes: ${indexes.join(', ')}`);
        assert.ok(!indexes.includes('predictions_request_row'));
        assert.ok(indexes.includes('predictions_endpoint_time') && indexes.includes('predictions_time'), 'the time indexes are there (SQLite built the table again)');

        const events = await db.selectFrom('monitoring_events').select(['time', 'result_name']).orderBy('id').execute();
        assert.deepEqual(events.map((e) => [Number(e.time), e.result_name]), [[1, 'general_drift'], [3, ''], [5, '']]);
        await assert.rejects(db.insertInto('monitoring_events').values(event(6, 'mm-app-failed', '', 0)).execute(), 'the key holds');
        await db.insertInto('monitoring_events').values(event(7, 'mm-app-failed', '', 120_000)).execute();

        await db
          .insertInto('dead_letters')
          .values({ project: 'p', endpoint_id: null, request_id: null, stream_partition: 0, stream_offset: '7', time: 1, reason: 'event is not valid JSON', event: 'x', event_chars: 1 })
          .execute();
        assert.equal((await db.selectFrom('dead_letters').selectAll().execute()).length, 1);
        await migrateToLatest(db, flavor); // nothing left to do
      } finally {
        await db.destroy();
      }
    });
  });
}

/** Index names of the predictions table. */
async function predictionIndexes(db: Kysely<Database>, flavor: SqlFlavor): Promise<string[]> {
  const q =
    flavor === 'sqlite'
      ? sql<{ name: string }>`select name from sqlite_master where type = 'index' and tbl_name = 'predictions'`
      : flavor === 'postgres'
        ? sql<{ name: string }>`select indexname as name from pg_indexes where tablename = 'predictions'`
        : sql<{ name: string }>`select distinct index_name as name from information_schema.statistics where table_schema = database() and table_name = 'predictions'`;
  return (await q.execute(db)).rows.map((r) => r.name);
}
