import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createLogger } from '../../src/common/logger.ts';
import { nodeArgs } from '../../src/common/module-url.ts';
import { HISTOGRAM_DRIFT_APP } from '../../src/common/names.ts';
import type { InferenceEvent } from '../../src/common/types.ts';
import { windowStartOf } from '../../src/pipeline/worker.ts';
import { Platform } from '../../src/project/platform.ts';
import { Project } from '../../src/project/project.ts';
import { postgresPoolConfig } from '../../src/store/postgres/open.ts';
import { topics, type Stream } from '../../src/stream/port.ts';
import { deleteNatsNamespace, natsUnavailableReason, NATS_SERVER } from './nats.ts';
import { FreshDatabases, selectedBackends, unavailableReason } from './servers.ts';

/*
 * Scale-out on PostgreSQL + NATS with real processes (`modelwatch worker --role ...`): two
 * stream processors, two controllers, a writer and two `--role apps` processes running the built-in
 * histogram-data-drift app and a row-counting app from a module file. 50,000 events across 20
 * endpoints land in three closed one-minute windows. One stream processor is killed (SIGKILL) in the
 * middle of the ingest and the controller holding the leadership lease is killed before any window
 * is handed out; the survivors take over. Every event must be stored exactly once (rows and
 * histogram counts) and every window analyzed exactly once per app.
 */
const CLI = nodeArgs(new URL('../../src/cli/main.ts', import.meta.url));
const ROW_COUNT_APP = fileURLToPath(new URL('../fixtures/scale-out/row-count-app.ts', import.meta.url));
const PROJECT = 'scale';
const ENDPOINTS = 20;
const EVENTS = 50_000;
const WINDOWS = 3;
const PERIOD = 60_000;
const LEASE_SECONDS = 4;
const PER_ENDPOINT = EVENTS / ENDPOINTS;

const reason = await skipReason();

describe('scale-out: worker processes on PostgreSQL + NATS', () => {
  const dbs = new FreshDatabases('postgres');
  const namespace = `so${randomUUID().replace(/-/g, '').slice(0, 10)}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-scale-out-'));
  const children: WorkerProcess[] = [];
  let platform: Platform | undefined;
  let db: pg.Client | undefined;

  after(async () => {
    await Promise.all(children.map((c) => c.kill('SIGKILL')));
    await db?.end().catch(() => undefined);
    await platform?.close().catch(() => undefined);
    if (!reason) {
      await dbs.dropAll();
      await deleteNatsNamespace(namespace);
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('stores every event once and analyzes every window once per app, through a processor crash and a leader crash', { skip: reason, timeout: 180_000 }, async (t) => {
    const url = await dbs.create();
    const streamUrl = `nats://${NATS_SERVER}?namespace=${namespace}&partitions=4`;
    const home = path.join(tmp, 'home');
    const journal = path.join(tmp, 'row-count.journal');
    fs.writeFileSync(journal, '');
    platform = await Platform.open({ home, storeUrl: url, tsdbUrl: url, streamUrl, logger: createLogger('modelwatch', 'silent') });
    db = new pg.Client(postgresPoolConfig(url));
    await db.connect();
    const sql = db;
    const count = async (query: string, params: unknown[] = []): Promise<number> => Number((await sql.query<{ n: string }>(query, params)).rows[0]?.n ?? 0);

    // ---- the project: a logged model for reference statistics, monitoring on one-minute windows.
    await platform.store.createProject({ name: PROJECT, description: '', labels: {}, monitoring: null, createdAt: Date.now() });
    const project = new Project(PROJECT, platform);
    const rnd = lcg(11);
    const training = Array.from({ length: 2000 }, () => {
      const x0 = rnd() * 10;
      const x1 = rnd() * 4 - 2;
      return { x0, x1, y: x0 + 0.5 * x1 };
    });
    const model = await project.logModel('linear', { model: { weights: [1, 0.5] }, trainingSet: training, labelColumn: 'y' });
    await project.enableModelMonitoring({ basePeriod: 1, graceSeconds: 5, deployHistogramDataDriftApp: false });
    await project.setModelMonitoringFunction({ name: 'row-count', application: ROW_COUNT_APP, className: 'RowCountApplication', options: { journal } });

    // Three whole windows that closed at least two minutes ago: the controller may run them at once.
    const base = windowStartOf(Date.now(), PERIOD) - (WINDOWS + 2) * PERIOD;
    const events = makeEvents(model.uri, base);
    const expected = new Map<string, number>();
    for (const e of events) {
      const k = `${e.endpointId} ${windowStartOf(Date.parse(e.when), PERIOD)}`;
      expected.set(k, (expected.get(k) ?? 0) + 1);
    }

    const spawnWorker = (role: string, i: number, extra: string[] = []): WorkerProcess => {
      const w = new WorkerProcess(`${role}-${i}`, tmp, [
        ...CLI, '--store-url', url, '--tsdb-url', url, '--stream-url', streamUrl, '--home', home,
        'worker', '--project', PROJECT, '--role', role, ...extra,
      ]);
      children.push(w);
      return w;
    };
    const diagnostics = (): string => children.map((c) => c.tail()).join('\n');
    const waitFor = async (what: string, ok: () => Promise<boolean>, ms: number): Promise<void> => {
      const deadline = Date.now() + ms;
      while (!(await ok())) {
        const dead = children.find((c) => c.exitedUnexpectedly());
        if (dead) assert.fail(`${dead.name} exited (${dead.exitInfo()}) while waiting for ${what}\n${diagnostics()}`);
        if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what}\n${diagnostics()}`);
        await sleep(250);
      }
    };

    const started = Date.now();
    const streams = [spawnWorker('stream', 0), spawnWorker('stream', 1)];
    const controllers = [0, 1].map((i) => spawnWorker('controller', i, ['--lease-seconds', String(LEASE_SECONDS)]));
    spawnWorker('writer', 0);
    // Started before any app is deployed: they pick the apps up as they are deployed.
    // The app's module is in the repository; the workers run in a temp folder, their default code root.
    const appsWorkers = [0, 1].map((i) => spawnWorker('apps', i, ['--refresh-seconds', '1', '--code-root', path.dirname(ROW_COUNT_APP)]));

    // With monitoring on and no app deployed yet, the leader keeps renewing its lease every tick.
    const holderPid = async (): Promise<number | undefined> => {
      const r = await sql.query<{ holder: string }>('select holder from leases where name = $1', [`controller:${PROJECT}`]);
      const m = /:(\d+):[0-9a-f]{8}$/.exec(r.rows[0]?.holder ?? '');
      return m ? Number(m[1]) : undefined;
    };
    await waitFor('a controller to take the leadership lease', async () => (await holderPid()) !== undefined, 60_000);
    await waitFor('the workers to run', async () => streams.every((s) => s.logged('worker running')) && appsWorkers.every((a) => a.logged('waiting for one')), 60_000);

    t.diagnostic(`workers up after ${Date.now() - started} ms`);

    // ---- ingest: half the events, kill a stream processor mid-way, then the rest.
    const stream = await platform.streamFor(PROJECT);
    const half = Math.floor(events.length / 2);
    await publish(stream, events.slice(0, half));
    await waitFor('the first rows to be stored', async () => (await count('select count(*) as n from predictions')) >= 5000, 60_000);
    const rowsAtKill = await count('select count(*) as n from predictions');
    await streams[0]!.kill('SIGKILL');
    t.diagnostic(`killed ${streams[0]!.name} with ${rowsAtKill} of ${EVENTS} rows stored`);
    await publish(stream, events.slice(half));
    const ingestStart = Date.now();

    // ---- meanwhile kill the leading controller; no app is deployed yet, so no window went out.
    const leaderPid = await holderPid();
    const leader = controllers.find((c) => c.pid === leaderPid);
    assert.ok(leader, `the lease names pid ${leaderPid}, which is none of the controllers (${controllers.map((c) => c.pid).join(', ')})`);
    const survivor = controllers.find((c) => c !== leader)!;
    await leader.kill('SIGKILL');
    t.diagnostic(`killed the leader ${leader.name}`);

    await waitFor('all 50,000 rows (the survivor takes the dead processor\'s partitions once their lease lapses)', async () => (await count('select count(*) as n from predictions')) >= EVENTS, 90_000);
    t.diagnostic(`rest of the ingest took ${Date.now() - ingestStart} ms`);
    await waitFor('the surviving controller to take the lapsed lease', async () => (await holderPid()) === survivor.pid, 30_000);

    // ---- deploy the apps: only the survivor can hand windows out.
    const deployedAt = Date.now();
    await project.enableModelMonitoring({ basePeriod: 1, graceSeconds: 5, deployHistogramDataDriftApp: true });
    // The `--role apps` workers started here run it: no supervisor to wait for.
    await project.deployFunction('row-count', { wait: false });

    const expectedResults = ENDPOINTS * WINDOWS * 2;
    await waitFor(`${expectedResults} results`, async () => (await count('select count(*) as n from app_results')) >= expectedResults, 90_000);
    assert.equal(await holderPid(), survivor.pid, 'the surviving controller holds the lease');
    t.diagnostic(`results complete ${Date.now() - deployedAt} ms after the apps were deployed`);
    // Give late duplicates (a second analysis, a second hand-out) the time to show up.
    await sleep(3000);

    // ---- every event stored exactly once
    assert.equal(await count('select count(*) as n from predictions'), EVENTS);
    const dupRows = await sql.query('select endpoint_id, request_id, row_index from predictions group by 1, 2, 3 having count(*) > 1 limit 5');
    assert.deepEqual(dupRows.rows, [], 'no (request id, row) is stored twice');
    const perWindow = await sql.query<{ endpoint_id: string; w: string; n: string }>(
      `select endpoint_id, time - (time % ${PERIOD}) as w, count(*) as n from predictions group by 1, 2`,
    );
    assert.deepEqual(new Map(perWindow.rows.map((r) => [`${r.endpoint_id} ${r.w}`, Number(r.n)])), expected, 'rows per endpoint and window as sent');
    const perEndpoint = await sql.query<{ endpoint_id: string; n: string }>('select endpoint_id, count(*) as n from predictions group by 1');
    assert.equal(perEndpoint.rows.length, ENDPOINTS);
    for (const r of perEndpoint.rows) assert.equal(Number(r.n), PER_ENDPOINT, `rows of ${r.endpoint_id}`);
    // Histograms cannot dedupe on their own: a batch written twice would count twice.
    const hist = await sql.query<{ endpoint_id: string; window_start: string; feature: string; count: string; missing: string }>(
      'select endpoint_id, window_start, feature, count, missing from window_histograms',
    );
    const columns = [...model.featureNames, ...model.labelNames];
    assert.equal(hist.rows.length, ENDPOINTS * WINDOWS * columns.length, `one histogram per endpoint, window and column (${columns.join(', ')})`);
    for (const h of hist.rows) {
      assert.equal(Number(h.count) + Number(h.missing), expected.get(`${h.endpoint_id} ${h.window_start}`), `histogram of ${h.endpoint_id}/${h.window_start}/${h.feature}`);
    }

    // ---- every window analyzed exactly once per app
    const dupResults = await sql.query('select endpoint_id, app, name, window_start from app_results group by 1, 2, 3, 4 having count(*) > 1');
    assert.deepEqual(dupResults.rows, [], 'no result is stored twice');
    const results = await sql.query<{ endpoint_id: string; app: string; name: string; window_start: string; value: number }>(
      'select endpoint_id, app, name, window_start, value from app_results',
    );
    const resultKeys = results.rows.map((r) => `${r.endpoint_id} ${r.window_start} ${r.app}/${r.name}`).sort();
    const wantKeys = [...expected.keys()].flatMap((k) => [`${k} ${HISTOGRAM_DRIFT_APP}/general_drift`, `${k} row-count/row_count`]).sort();
    assert.deepEqual(resultKeys, wantKeys, 'one result per endpoint, window and app result name');
    for (const r of results.rows.filter((x) => x.app === 'row-count')) {
      assert.equal(Number(r.value), expected.get(`${r.endpoint_id} ${r.window_start}`), `row_count of ${r.endpoint_id}/${r.window_start}`);
    }
    // The controller handed each window out once per app, and each app ran each window once.
    for (const app of [HISTOGRAM_DRIFT_APP, 'row-count']) {
      const jobs = (await readAll(stream, topics.app(PROJECT, app))).map((v) => JSON.parse(v) as { endpointId: string; windowStart: number });
      assert.deepEqual(jobs.map((j) => `${j.endpointId} ${j.windowStart}`).sort(), [...expected.keys()].sort(), `windows handed to ${app}`);
    }
    const outputs = (await readAll(stream, topics.writer(PROJECT))).map((v) => JSON.parse(v) as { type: string; endpointId: string; app: string; windowStart: number });
    assert.deepEqual(outputs.filter((o) => o.type !== 'outputs'), [], 'no app failed');
    assert.deepEqual(
      outputs.map((o) => `${o.endpointId} ${o.windowStart} ${o.app}`).sort(),
      [...expected.keys()].flatMap((k) => [`${k} ${HISTOGRAM_DRIFT_APP}`, `${k} row-count`]).sort(),
      'one analysis per endpoint, window and app',
    );
    const journalLines = fs.readFileSync(journal, 'utf8').trim().split('\n');
    assert.deepEqual(journalLines.map((l) => l.split(' ').slice(0, 2).join(' ')).sort(), [...expected.keys()].sort(), 'row-count ran once per window');
    const pids = new Set(journalLines.map((l) => l.split(' ')[3]));
    t.diagnostic(`row-count windows were analyzed by ${pids.size} apps process(es)`);
    const state = await sql.query<{ last_window_end: string }>('select last_window_end from analysis_state where project = $1', [PROJECT]);
    assert.equal(state.rows.length, ENDPOINTS * 2);
    // Past the windows with traffic come empty closed windows, which the controller skips over.
    for (const s of state.rows) assert.ok(Number(s.last_window_end) >= base + WINDOWS * PERIOD && Number(s.last_window_end) % PERIOD === 0);

    // ---- a clean stop: SIGTERM makes every worker flush, close and exit 0.
    const alive = children.filter((c) => c.running());
    const codes = await Promise.all(alive.map((c) => c.stop()));
    assert.deepEqual(codes, alive.map(() => 0), `exit codes of ${alive.map((c) => c.name).join(', ')}\n${diagnostics()}`);
  });
});

/** One worker process, its output in a log file. */
class WorkerProcess {
  private readonly child: ChildProcess;
  private readonly log: string;
  private exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exited: Promise<void>;
  private killed = false;

  constructor(
    readonly name: string,
    dir: string,
    args: string[],
  ) {
    this.log = path.join(dir, `${name}.log`);
    const fd = fs.openSync(this.log, 'a');
    this.child = spawn(process.execPath, args, { stdio: ['ignore', fd, fd], env: { ...process.env, MODELWATCH_LOG_LEVEL: 'info' } });
    fs.closeSync(fd);
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve();
      }),
    );
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  running(): boolean {
    return this.exit === undefined;
  }

  exitedUnexpectedly(): boolean {
    return this.exit !== undefined && !this.killed;
  }

  exitInfo(): string {
    return this.exit ? `code ${this.exit.code}, signal ${this.exit.signal}` : 'running';
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    this.killed = true;
    if (this.exit) return;
    this.child.kill(signal);
    await this.exited;
  }

  /** SIGTERM, then the exit code (SIGKILL after 20 s). */
  async stop(): Promise<number | null> {
    this.killed = true;
    if (!this.exit) {
      this.child.kill('SIGTERM');
      const t = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
      await this.exited;
      clearTimeout(t);
    }
    return this.exit?.code ?? null;
  }

  /** Whether the process logged `text`. */
  logged(text: string): boolean {
    return fs.existsSync(this.log) && fs.readFileSync(this.log, 'utf8').includes(text);
  }

  tail(lines = 15): string {
    const text = fs.existsSync(this.log) ? fs.readFileSync(this.log, 'utf8').trim().split('\n').slice(-lines).join('\n') : '';
    return `--- ${this.name} (pid ${this.pid}, ${this.exitInfo()})\n${text}`;
  }
}

/** 50,000 one-row events, 2,500 per endpoint, spread evenly over the windows. */
function makeEvents(modelUri: string, base: number): InferenceEvent[] {
  const rnd = lcg(5);
  const out: InferenceEvent[] = [];
  for (let i = 0; i < PER_ENDPOINT; i++) {
    for (let e = 0; e < ENDPOINTS; e++) {
      const w = i % WINDOWS;
      const t = base + w * PERIOD + Math.floor((i / WINDOWS) * (PERIOD / (PER_ENDPOINT / WINDOWS + 1)));
      const x0 = rnd() * 10;
      const x1 = rnd() * 4 - 2;
      out.push({
        v: 1,
        endpointId: `ep-${String(e).padStart(2, '0')}`,
        project: PROJECT,
        function: 'serving',
        model: 'linear',
        modelUri,
        when: new Date(t).toISOString(),
        latencyUs: 800 + (i % 400),
        request: { id: `r-${e}-${i}`, inputs: [[x0, x1]] },
        response: { outputs: [x0 + 0.5 * x1] },
      });
    }
  }
  return out;
}

async function publish(stream: Stream, events: InferenceEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += 5000) {
    await stream.publish(
      topics.events(PROJECT),
      events.slice(i, i + 5000).map((e) => ({ key: e.endpointId, value: JSON.stringify(e) })),
    );
  }
}

/** Every message of a topic, read through a fresh consumer group. */
async function readAll(stream: Stream, topic: string): Promise<string[]> {
  const sub = await stream.subscribe(topic, `probe-${randomUUID().slice(0, 8)}`);
  try {
    const out: string[] = [];
    for (;;) {
      const batch = await sub.fetch(1000, 0);
      if (batch.length === 0) return out;
      out.push(...batch.map((m) => m.value));
    }
  } finally {
    await sub.close();
  }
}

async function skipReason(): Promise<string | undefined> {
  if (!selectedBackends().includes('postgres')) return 'PostgreSQL is not among MODELWATCH_TEST_BACKENDS';
  const pgReason = await unavailableReason('postgres');
  if (pgReason) return pgReason;
  return natsUnavailableReason();
}


/** A small deterministic generator in [0, 1). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
