import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { createLogger } from '../../src/common/logger.ts';
import { HISTOGRAM_DRIFT_APP } from '../../src/common/names.ts';
import type { InferenceEvent } from '../../src/common/types.ts';
import { windowStartOf } from '../../src/pipeline/worker.ts';
import { Platform } from '../../src/project/platform.ts';
import { Project } from '../../src/project/project.ts';
import { postgresPoolConfig } from '../../src/store/postgres/open.ts';
import { topics, type Stream } from '../../src/stream/port.ts';
import { deleteNatsNamespace, natsNamespace, natsUnavailableReason, NATS_SERVER } from '../backends/nats.ts';
import { FreshDatabases, unavailableReason } from '../backends/servers.ts';
import { CLI, childEnv } from '../server/helpers.ts';

/*
 * Issue 23, reliability 5: `kill -9` of each role in turn — the stream processor, the writer, the
 * controller and the process running the monitoring apps — while 100,000 events arrive over some
 * two and a half minutes of real time (one-minute windows), with `modelwatch worker` processes as a
 * deployment runs them; each killed process is started again, as the supervisor of `modelwatch up`
 * does. On the embedded default (SQLite, embedded log) and on PostgreSQL + NATS. Afterwards every
 * event is stored once (rows and histogram counts), every window of every endpoint has its results
 * and metrics once per app, with the right row counts, and its monitoring event once; every window
 * was analyzed (a window in flight when a process died may have been analyzed again: delivery to
 * apps is at least once, its outputs replace rather than add), nothing is dead-lettered, nothing is
 * left unacknowledged.
 */
const PROJECT = 'crash';
const ENDPOINTS = 40;
const EVENTS = 100_000;
const BATCH = 400;
const BATCH_EVERY_MS = 600;
const PERIOD = 60_000;
const COUNT_APP = fileURLToPath(new URL('../fixtures/crash-recovery/count-app.ts', import.meta.url));
const ROLES = ['stream', 'writer', 'controller', 'apps'] as const;
type Role = (typeof ROLES)[number];

/** Read-only SQL on the backend's database, the same statements on both. */
interface Sql {
  rows<T>(query: string): Promise<T[]>;
  close(): Promise<void>;
}

async function openSql(backend: 'embedded' | 'postgres', url: string): Promise<Sql> {
  if (backend === 'embedded') {
    const db = new BetterSqlite3(url, { readonly: true, timeout: 10_000 });
    return { rows: async <T>(q: string) => db.prepare(q).all() as T[], close: async () => void db.close() };
  }
  const c = new pg.Client(postgresPoolConfig(url));
  await c.connect();
  return { rows: async <T>(q: string) => (await c.query(q)).rows as T[], close: () => c.end() };
}

async function count(sql: Sql, query: string): Promise<number> {
  return Number((await sql.rows<{ n: string | number }>(query))[0]?.n ?? 0);
}

/** One `modelwatch worker` process, its output in a log file. */
class WorkerProcess {
  readonly child: ChildProcess;
  private exitInfo: string | undefined;
  private readonly exited: Promise<void>;

  constructor(
    readonly name: string,
    private readonly log: string,
    args: string[],
  ) {
    const fd = fs.openSync(log, 'a');
    this.child = spawn(process.execPath, args, { stdio: ['ignore', fd, fd], env: childEnv({ MODELWATCH_LOG_LEVEL: 'info' }), cwd: path.dirname(COUNT_APP) });
    fs.closeSync(fd);
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        this.exitInfo = `code ${code}, signal ${signal}`;
        resolve();
      }),
    );
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  async kill9(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM, then the exit code (SIGKILL after 30 s). */
  async stop(): Promise<string> {
    if (this.running) {
      this.child.kill('SIGTERM');
      const t = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
      await this.exited;
      clearTimeout(t);
    }
    return this.exitInfo!;
  }

  tail(n = 12): string {
    const text = fs.existsSync(this.log) ? fs.readFileSync(this.log, 'utf8').trim().split('\n').slice(-n).join('\n') : '';
    return `--- ${this.name} (pid ${this.child.pid}, ${this.exitInfo ?? 'running'})\n${text}`;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function skipFor(backend: 'embedded' | 'postgres'): Promise<string | undefined> {
  if (backend === 'embedded') return undefined;
  return (await unavailableReason('postgres')) ?? (await natsUnavailableReason());
}

for (const backend of ['embedded', 'postgres'] as const) {
  const skip = await skipFor(backend);
  describe(`crash recovery, every role: ${backend === 'embedded' ? 'embedded default' : 'PostgreSQL + NATS'}`, { skip }, () => {
    const dbs = new FreshDatabases('postgres');
    const namespace = natsNamespace();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-soak-crash-'));
    const workers: WorkerProcess[] = [];
    let platform: Platform | undefined;
    let sql: Sql | undefined;

    after(async () => {
      await Promise.all(workers.map((w) => w.kill9()));
      await sql?.close().catch(() => undefined);
      await platform?.close().catch(() => undefined);
      if (backend === 'postgres' && !skip) {
        await dbs.dropAll();
        await deleteNatsNamespace(namespace);
      }
      fs.rmSync(tmp, { recursive: true, force: true });
    });

    it('kill -9 of the stream processor, the writer, the controller and an app process in the middle of 100,000 events: every event stored once, every window analyzed, every result and event written once', { timeout: 900_000 }, async (t) => {
      const home = path.join(tmp, 'home');
      const journal = path.join(tmp, 'count.journal');
      fs.writeFileSync(journal, '');
      const url = backend === 'postgres' ? await dbs.create() : undefined;
      const urls = url ? ['--store-url', url, '--tsdb-url', url, '--stream-url', `nats://${NATS_SERVER}?namespace=${namespace}&partitions=4`] : [];
      platform = await Platform.open({
        home,
        ...(url ? { storeUrl: url, tsdbUrl: url, streamUrl: `nats://${NATS_SERVER}?namespace=${namespace}&partitions=4` } : {}),
        logger: createLogger('modelwatch', 'silent'),
      });
      const db = await openSql(backend, url ?? path.join(home, 'modelwatch.db'));
      sql = db;

      // ---- the project: a logged model (reference statistics), one-minute windows, two apps.
      await platform.store.createProject({ name: PROJECT, description: '', labels: {}, monitoring: null, createdAt: Date.now() });
      const project = new Project(PROJECT, platform);
      const rnd = lcg(3);
      const training = Array.from({ length: 2000 }, () => {
        const x0 = rnd() * 10;
        const x1 = rnd() * 4 - 2;
        return { x0, x1, y: x0 + 0.5 * x1 };
      });
      const model = await project.logModel('linear', { model: { weights: [1, 0.5] }, trainingSet: training, labelColumn: 'y' });
      await project.enableModelMonitoring({ basePeriod: 1, graceSeconds: 5, deployHistogramDataDriftApp: true });
      await project.setModelMonitoringFunction({ name: 'count', application: COUNT_APP, className: 'CountApplication', options: { journal } });
      await project.deployFunction('count', { wait: false });

      const start = (role: Role, n: number): WorkerProcess => {
        const extra = role === 'controller' ? ['--lease-seconds', '5'] : role === 'apps' ? ['--refresh-seconds', '1', '--code-root', path.dirname(COUNT_APP)] : [];
        const w = new WorkerProcess(`${role}-${n}`, path.join(tmp, `${role}-${n}.log`), [...CLI, ...urls, '--home', home, 'worker', '--project', PROJECT, '--role', role, ...extra]);
        workers.push(w);
        return w;
      };
      const current = new Map<Role, WorkerProcess>(ROLES.map((r) => [r, start(r, 0)]));
      const diagnostics = () => workers.map((w) => w.tail()).join('\n');

      // ---- the kills, one role at a time, each when that role has work in hand.
      const stream = await platform.streamFor(PROJECT);
      let published = 0;
      const killed = new Map<Role, string>();
      const kill = async (role: Role, why: string): Promise<void> => {
        if (killed.has(role)) return;
        const w = current.get(role)!;
        await w.kill9();
        killed.set(role, why);
        t.diagnostic(`kill -9 ${w.name} (${why})`);
        current.set(role, start(role, 1));
      };
      const journalWindows = () => new Set(fs.readFileSync(journal, 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ')[1]));
      let firstWindow: string | undefined;
      const watch = async (): Promise<void> => {
        if (published >= EVENTS * 0.2 && !killed.has('stream')) {
          // In the middle of the ingest: once it has stored a good part of what came.
          const stored = await count(db, 'select count(*) as n from predictions');
          if (stored >= 5000) await kill('stream', `${published} events published, ${stored} stored`);
        }
        if (killed.has('stream') && !killed.has('writer')) {
          const events = await count(db, "select count(*) as n from monitoring_events where app = 'count'");
          if (events > 0) await kill('writer', `${events} monitoring events written`);
        }
        if (published >= EVENTS * 0.6) await kill('controller', `${published} events published`);
        if (killed.has('controller') && !killed.has('apps')) {
          const windows = journalWindows();
          firstWindow ??= [...windows][0];
          const later = [...windows].filter((w) => w !== firstWindow);
          if (later.length > 0) await kill('apps', `analyzing window ${new Date(Number(later[0])).toISOString()}`);
        }
      };

      // ---- 100,000 events in real time, 667 per second, each stamped with the time it is sent.
      const expected = new Map<string, number>();
      const modelUri = model.uri;
      const began = Date.now();
      while (published < EVENTS) {
        const at = Date.now();
        const batch = Array.from({ length: BATCH }, (_, k) => event(modelUri, published + k, at));
        await publish(stream, batch);
        for (const e of batch) {
          const key = `${e.endpointId} ${windowStartOf(at, PERIOD)}`;
          expected.set(key, (expected.get(key) ?? 0) + 1);
        }
        published += batch.length;
        await watch();
        const dead = [...current.values()].find((w) => !w.running);
        assert.ok(!dead, `${dead?.name} exited on its own\n${diagnostics()}`);
        await sleep(Math.max(0, began + (published / BATCH) * BATCH_EVERY_MS - Date.now()));
      }
      t.diagnostic(`published ${EVENTS} events in ${Date.now() - began} ms over ${new Set([...expected.keys()].map((k) => k.split(' ')[1])).size} windows`);

      // ---- every window analyzed: results of both apps and the count app's event for each.
      const pairs = expected.size;
      const deadline = Date.now() + 240_000;
      for (;;) {
        await watch();
        const results = await count(db, 'select count(*) as n from app_results');
        const events = await count(db, "select count(*) as n from monitoring_events where app = 'count'");
        if (results >= 2 * pairs && events >= pairs && killed.size === ROLES.length) break;
        for (const w of current.values()) assert.ok(w.running, `${w.name} exited on its own\n${diagnostics()}`);
        assert.ok(Date.now() < deadline, `after ${EVENTS} events: ${results} of ${2 * pairs} results, ${events} of ${pairs} events, killed ${[...killed.keys()].join(', ')}\n${diagnostics()}`);
        await sleep(500);
      }
      // Time for late duplicates (a second analysis, a redelivered writer batch) to show.
      await sleep(8000);

      // ---- every event stored once.
      assert.equal(await count(db, 'select count(*) as n from predictions'), EVENTS);
      assert.equal(await count(db, 'select count(distinct request_id) as n from predictions'), EVENTS, 'no event stored twice');
      const perWindow = await db.rows<{ endpoint_id: string; w: string | number; n: string | number }>(
        `select endpoint_id, time - (time % ${PERIOD}) as w, count(*) as n from predictions group by endpoint_id, time - (time % ${PERIOD})`,
      );
      assert.deepEqual(new Map(perWindow.map((r) => [`${r.endpoint_id} ${Number(r.w)}`, Number(r.n)])), expected, 'rows per endpoint and window as sent');
      // Histograms cannot dedupe on their own: a batch written twice would count twice.
      const hist = await db.rows<{ endpoint_id: string; window_start: string | number; count: string | number; missing: string | number }>('select endpoint_id, window_start, count, missing from window_histograms');
      assert.equal(hist.length, pairs * 3, 'one histogram per endpoint, window and column (x0, x1, y)');
      for (const h of hist) assert.equal(Number(h.count) + Number(h.missing), expected.get(`${h.endpoint_id} ${Number(h.window_start)}`));

      // ---- every window analyzed, its results, metrics and monitoring event written once.
      const results = await db.rows<{ endpoint_id: string; app: string; name: string; window_start: string | number; value: number }>('select endpoint_id, app, name, window_start, value from app_results');
      const want = [...expected.keys()].flatMap((k) => [`${k} ${HISTOGRAM_DRIFT_APP}/general_drift`, `${k} count/row_count`]).sort();
      assert.deepEqual(results.map((r) => `${r.endpoint_id} ${Number(r.window_start)} ${r.app}/${r.name}`).sort(), want, 'one result per endpoint, window, app and name');
      for (const r of results.filter((x) => x.app === 'count')) assert.equal(Number(r.value), expected.get(`${r.endpoint_id} ${Number(r.window_start)}`), 'row_count computed on every row');
      const metrics = await db.rows<{ endpoint_id: string; window_start: string | number; value: number }>("select endpoint_id, window_start, value from metrics where app = 'count'");
      assert.equal(metrics.length, pairs);
      for (const m of metrics) assert.equal(Number(m.value), expected.get(`${m.endpoint_id} ${Number(m.window_start)}`));
      const events = await db.rows<{ endpoint_id: string; window_start: string | number; kind: string }>("select endpoint_id, window_start, kind from monitoring_events where app = 'count'");
      assert.deepEqual(events.map((e) => `${e.endpoint_id} ${Number(e.window_start)} ${e.kind}`).sort(), [...expected.keys()].map((k) => `${k} model-performance-detected`).sort(), 'one monitoring event per window');
      const dupEvents = await db.rows('select project, endpoint_id, app, result_name, window_start, kind from monitoring_events group by project, endpoint_id, app, result_name, window_start, kind having count(*) > 1');
      assert.deepEqual(dupEvents, [], 'no monitoring event twice');
      const runs = new Map<string, number>();
      for (const l of fs.readFileSync(journal, 'utf8').split('\n').filter(Boolean)) {
        const [ep, ws] = l.split(' ');
        runs.set(`${ep} ${ws}`, (runs.get(`${ep} ${ws}`) ?? 0) + 1);
      }
      assert.deepEqual([...runs.keys()].sort(), [...expected.keys()].sort(), 'every window of every endpoint analyzed');
      const again = [...runs.values()].filter((n) => n > 1).length;
      t.diagnostic(`${pairs} windows × endpoints; analyzed again after a kill: ${again} (at least once: their outputs replaced, not added)`);
      assert.ok(again <= 2 * ENDPOINTS, `${again} windows analyzed more than once: more than the kills of the controller and the apps can account for`);

      t.diagnostic(`kills: ${[...killed].map(([r, why]) => `${r} (${why})`).join('; ')}`);

      // ---- a clean stop of the survivors; then nothing refused, nothing left unacknowledged.
      const codes = await Promise.all([...current.values()].map((w) => w.stop()));
      assert.deepEqual(codes, [...current.values()].map(() => 'code 0, signal null'), diagnostics());
      assert.equal(await count(db, 'select count(*) as n from dead_letters'), 0);
      const probe = await stream.subscribe(topics.events(PROJECT), 'model-monitoring-stream');
      try {
        assert.equal(await probe.lag(), 0, 'every event acknowledged');
      } finally {
        await probe.close();
      }
    });
  });
}

function event(modelUri: string, i: number, at: number): InferenceEvent {
  const ep = i % ENDPOINTS;
  const x0 = ((i * 7919) % 1000) / 100;
  const x1 = ((i * 104729) % 400) / 100 - 2;
  return {
    v: 1,
    endpointId: `ep-${String(ep).padStart(2, '0')}`,
    project: PROJECT,
    function: 'serving',
    model: 'linear',
    modelUri,
    when: new Date(at).toISOString(),
    latencyUs: 500 + (i % 300),
    request: { id: `r-${i}-${randomUUID().slice(0, 4)}`, inputs: [[x0, x1]] },
    response: { outputs: [x0 + 0.5 * x1] },
  };
}

async function publish(stream: Stream, events: InferenceEvent[]): Promise<void> {
  await stream.publish(topics.events(PROJECT), events.map((e) => ({ key: e.endpointId, value: JSON.stringify(e) })));
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
