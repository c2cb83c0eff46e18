import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { createConnection } from 'mysql2/promise';
import pg from 'pg';
import { DEAD_LETTER_LIMITS, storableText, wellFormed } from '../../src/common/event-limits.ts';
import { createLogger } from '../../src/common/logger.ts';
import { STREAM_FUNCTION } from '../../src/common/names.ts';
import { StreamProcessor } from '../../src/pipeline/stream-processor/stream-processor.ts';
import { windowStartOf } from '../../src/pipeline/worker.ts';
import { Platform } from '../../src/project/platform.ts';
import { mysqlConnectionOptions } from '../../src/store/mysql/open.ts';
import { postgresPoolConfig } from '../../src/store/postgres/open.ts';
import { topics } from '../../src/stream/port.ts';
import { rng, tempHome } from '../e2e/helpers.ts';
import { hostileEvents, validEvent, validTraffic, type HostileEvent, type Traffic } from './hostile-events.ts';
import { deleteNatsNamespace, natsNamespace, natsUnavailableReason, natsUrl } from './nats.ts';
import { FreshDatabases, selectedBackends, unavailableReason, type SqlBackendName } from './servers.ts';

/*
 * Issue 23, reliability 1 and 2, on every SQL backend with the embedded stream and with NATS: valid
 * traffic with 1,000 hostile events (fast-check) mixed in, and one event that passes every limit but
 * that the engine refuses (a CHECK constraint, a trigger on SQLite, added for the test). Every valid
 * event must be stored once — requests that share an id each — every other one dead-lettered with
 * its reason and counted on its endpoint's errors where it names one, and every event acknowledged.
 */
const PERIOD = 10 * 60_000;
const T0 = Date.UTC(2026, 5, 1, 12, 0, 0);
const HOSTILE = 1000;
const VALID = 600;
const POISON = 'poison-pill';

/** What the engine says when it refuses the poison event. */
const POISON_REASON: Record<SqlBackendName, RegExp> = {
  sqlite: /could not be stored: poison pill refused/,
  postgres: /could not be stored: .*violates check constraint "mw_test_poison"/,
  mysql: /could not be stored: .*mw_test_poison/i,
};

/** Refuses predictions of the poison request in the tsdb's own engine. */
async function addPoisonRule(backend: SqlBackendName, url: string): Promise<void> {
  if (backend === 'sqlite') {
    const db = new BetterSqlite3(url.replace(/^sqlite:\/\//, ''));
    try {
      db.exec(`CREATE TRIGGER mw_test_poison BEFORE INSERT ON predictions WHEN NEW.request_id = '${POISON}' BEGIN SELECT RAISE(ABORT, 'poison pill refused'); END`);
    } finally {
      db.close();
    }
    return;
  }
  const statement = `alter table predictions add constraint mw_test_poison check (request_id <> '${POISON}')`;
  if (backend === 'postgres') {
    const c = new pg.Client(postgresPoolConfig(url));
    await c.connect();
    await c.query(statement).finally(() => c.end());
    return;
  }
  const c = await createConnection(mysqlConnectionOptions(url));
  await c.query(statement).finally(() => c.end());
}

/** Text as a dead letter holds it: cut, NUL and lone surrogates replaced. */
const asStored = (raw: string): string => storableText(raw, DEAD_LETTER_LIMITS.eventChars);

const natsReason = await natsUnavailableReason();

for (const backend of selectedBackends()) {
  const dbReason = await unavailableReason(backend);
  for (const streamKind of ['embedded', 'nats'] as const) {
    const skip = dbReason ?? (streamKind === 'nats' ? natsReason : undefined);
    describe(`ingest reliability: ${backend} + ${streamKind} stream`, { skip }, () => {
      const dbs = new FreshDatabases(backend);
      const namespace = natsNamespace();
      const t = tempHome('mw-ingest-reliability-');
      let platform: Platform | undefined;
      after(async () => {
        await platform?.close().catch(() => undefined);
        await dbs.dropAll();
        if (streamKind === 'nats' && !skip) await deleteNatsNamespace(namespace);
        t.cleanup();
      });

      it('stores every valid event once, dead-letters every hostile one with its reason, and loses nothing', { timeout: 300_000 }, async () => {
        const url = await dbs.create();
        platform = await Platform.open({
          home: t.home,
          storeUrl: url,
          tsdbUrl: url,
          ...(streamKind === 'nats' ? { streamUrl: `${natsUrl(namespace)}&partitions=3` } : {}),
          logger: createLogger('modelwatch', 'silent'),
        });
        const p = platform;
        const traffic: Traffic = { project: 'ingest', endpoints: ['ep-a', 'ep-b', 'ep-c'], t0: T0, spanMs: 2 * PERIOD };
        await p.store.createProject({ name: traffic.project, description: '', labels: {}, monitoring: { enabled: true, basePeriodMinutes: 10, graceSeconds: 60, maxWindowsPerTick: 2, enabledAt: T0 }, createdAt: T0 });
        const tsdb = await p.tsdbFor(traffic.project);
        await addPoisonRule(backend, url);
        const stream = await p.streamFor(traffic.project);
        const publish = async (raws: { key: string; raw: string }[]): Promise<void> => {
          for (let i = 0; i < raws.length; i += 200) await stream.publish(topics.events(traffic.project), raws.slice(i, i + 200).map((r) => ({ key: r.key, value: r.raw })));
        };
        const sp = new StreamProcessor(p, traffic.project, { lingerMs: 0 });
        const drain = async (): Promise<void> => {
          for (let idle = 0; idle < 2; ) idle = (await sp.step()) === 0 ? idle + 1 : 0;
        };

        // The endpoints exist before the hostile events come, so that those naming one count on it.
        const warmup = traffic.endpoints.map((ep, i) => validEvent(traffic, ep, `warm-${i}`, i));
        await publish(warmup.map((e) => ({ key: e.endpointId, raw: JSON.stringify(e) })));
        await drain();
        assert.equal((await p.store.listEndpoints(traffic.project)).length, 3);

        const { events: valid, errorEvents } = validTraffic(traffic, VALID);
        const poison = validEvent(traffic, 'ep-b', POISON, 4242);
        const hostile = hostileEvents(traffic, HOSTILE, 23, streamKind === 'embedded');
        const mixed: { key: string; raw: string; hostile?: HostileEvent }[] = [
          ...valid.map((e) => ({ key: e.endpointId, raw: JSON.stringify(e) })),
          ...hostile.map((h) => ({ key: h.countsOn ?? 'ep-a', raw: h.raw, hostile: h })),
        ];
        const r = rng(5);
        for (let i = mixed.length - 1; i > 0; i--) {
          const j = Math.floor(r.uniform() * (i + 1));
          [mixed[i], mixed[j]] = [mixed[j]!, mixed[i]!];
        }
        mixed.splice(Math.floor(mixed.length / 2), 0, { key: 'ep-b', raw: JSON.stringify(poison) });
        await publish(mixed);
        await drain();
        await sp.close();

        // ---- every valid event stored once: requests that share an id each, findable by it.
        const predictions = [...warmup, ...valid].filter((e) => e.error === undefined);
        const wantRows = new Map<string, number>();
        for (const e of predictions) {
          const k = `${e.endpointId} ${wellFormed(e.request.id)}`;
          wantRows.set(k, (wantRows.get(k) ?? 0) + e.request.inputs.length);
        }
        const gotRows = new Map<string, number>();
        for (const ep of traffic.endpoints) {
          const ids = [...new Set(predictions.filter((e) => e.endpointId === ep).map((e) => e.request.id))];
          for (const row of await tsdb.readPredictionsByRequest(traffic.project, ep, ids)) {
            const k = `${ep} ${row.requestId}`;
            gotRows.set(k, (gotRows.get(k) ?? 0) + 1);
          }
        }
        assert.deepEqual(gotRows, wantRows, 'rows per endpoint and request id as sent');
        const dup = predictions.filter((e) => e.request.id === 'dup-id-A' && e.endpointId === 'ep-b');
        assert.ok(dup.length >= 3, 'several requests share the id dup-id-A');
        assert.equal((await tsdb.readPredictionsByRequest(traffic.project, 'ep-b', ['dup-id-A'])).length, dup.reduce((n, e) => n + e.request.inputs.length, 0));
        const all = await Promise.all(traffic.endpoints.map((ep) => tsdb.countPredictions(traffic.project, ep, { start: 0, end: T0 + 10 * PERIOD })));
        assert.equal(all.reduce((a, b) => a + b, 0), predictions.reduce((n, e) => n + e.request.inputs.length, 0), 'no row more than sent');

        // ---- the histograms count every valid row once (huge values' sums saturate, never fail a write).
        for (const ep of traffic.endpoints) {
          for (const w of [T0, T0 + PERIOD]) {
            const rows = predictions.filter((e) => e.endpointId === ep && windowStartOf(Date.parse(e.when), PERIOD) === w).reduce((n, e) => n + e.request.inputs.length, 0);
            const hist = await tsdb.readWindowHistograms(traffic.project, ep, w, w + PERIOD);
            assert.deepEqual(hist.map((h) => [h.feature, h.count + h.missing]).sort(), ['a', 'b', 'c', 'y'].map((f) => [f, rows]), `histograms of ${ep} at ${new Date(w).toISOString()}`);
          }
        }

        // ---- every hostile event dead-lettered once, with its reason; the poison with the engine's.
        const letters = await tsdb.listDeadLetters(traffic.project);
        assert.equal(letters.length, hostile.length + 1, 'one dead letter per refused event');
        const poisoned = letters.filter((d) => d.requestId === POISON);
        assert.equal(poisoned.length, 1);
        assert.match(poisoned[0]!.reason, POISON_REASON[backend]);
        assert.equal(poisoned[0]!.endpointId, 'ep-b');
        const expected = new Map<string, HostileEvent[]>();
        for (const h of hostile) expected.set(asStored(h.raw), [...(expected.get(asStored(h.raw)) ?? []), h]);
        for (const d of letters.filter((x) => x !== poisoned[0])) {
          const candidates = expected.get(d.event);
          assert.ok(candidates?.length, `a dead letter of no hostile event: ${d.event.slice(0, 200)}`);
          const i = candidates.findIndex((h) => h.reason.test(d.reason));
          assert.ok(i >= 0, `dead letter reason '${d.reason}' for ${d.event.slice(0, 200)} (expected ${candidates.map((h) => h.reason).join(' or ')})`);
          const [h] = candidates.splice(i, 1);
          assert.equal(d.eventChars, h!.raw.length);
          assert.equal(d.endpointId, h!.countsOn ?? d.endpointId, 'the endpoint it names');
        }

        // ---- counted on their endpoints' errors, with the error events.
        for (const ep of traffic.endpoints) {
          const want = hostile.filter((h) => h.countsOn === ep).length + (errorEvents.get(ep) ?? 0) + (ep === 'ep-b' ? 1 : 0);
          assert.equal((await p.store.getEndpoint(traffic.project, ep))!.errorCount, want, `error count of ${ep}`);
          const errors = await tsdb.readErrors(traffic.project, ep, { start: 0, end: T0 + 10 * PERIOD });
          assert.equal(errors.length, errorEvents.get(ep) ?? 0);
          assert.ok(errors.every((e) => !e.error.includes('\u0000') && e.error.includes('\uFFFD')), 'NUL in error texts stored as U+FFFD');
        }

        // ---- nothing left unacknowledged.
        const probe = await stream.subscribe(topics.events(traffic.project), STREAM_FUNCTION);
        try {
          assert.equal(await probe.lag(), 0);
        } finally {
          await probe.close();
        }
      });
    });
  }
}
