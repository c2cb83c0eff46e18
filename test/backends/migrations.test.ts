import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Migrator, sql, type Kysely } from 'kysely';
import type { SqlFlavor } from '../../src/store/dialect.ts';
import { InlineMigrationProvider, migrateToLatest } from '../../src/store/migrations/index.ts';
import { openMysqlDatabase } from '../../src/store/mysql/open.ts';
import { openPostgresDatabase } from '../../src/store/postgres/open.ts';
import type { Database } from '../../src/store/schema.ts';
import { openSqliteHandles } from '../../src/store/sqlite/open.ts';
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
  });
}
