import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConflictError, ManualClock, Modelwatch, MonitoringApplication, ResultKind, ResultStatus, ValidationError, type MonitoringApplicationContext, type Project, type ServingFunction } from '../../src/index.ts';
import type { PlatformOptions } from '../../src/common/config.ts';
import { FreshDatabases, selectedBackends, unavailableReason, type SqlBackendName } from '../backends/servers.ts';
import { deleteNatsNamespace, natsNamespace, natsUnavailableReason, natsUrl } from '../backends/nats.ts';
import { rng, tempHome } from './helpers.ts';

/**
 * The end-to-end flow — log a model, serve it over HTTP with tracking, let the stream processor,
 * controller, applications and writer run, read endpoints, results, metrics and events back — on
 * every backend combination: SQLite + embedded stream (the default home), PostgreSQL + NATS and
 * MariaDB + NATS. `MODELWATCH_TEST_BACKENDS` picks the SQL backends; a combination whose servers do
 * not answer is skipped with the reason.
 */

const here = path.dirname(fileURLToPath(import.meta.url));
const PERIOD = 10 * 60_000;

/** One way to deploy modelwatch: where the store and time series live, and which stream carries the events. */
interface Combination {
  title: string;
  sql: SqlBackendName;
  stream: 'embedded' | 'nats';
}

const COMBINATIONS: readonly Combination[] = [
  { title: 'SQLite + embedded stream', sql: 'sqlite', stream: 'embedded' },
  { title: 'PostgreSQL + NATS', sql: 'postgres', stream: 'nats' },
  { title: 'MariaDB + NATS', sql: 'mysql', stream: 'nats' },
];

class RowCountApp extends MonitoringApplication {
  doTracking(ctx: MonitoringApplicationContext) {
    return [
      { name: 'rows', value: ctx.sample.totalRows },
      { name: 'x0_mean', value: ctx.sampleStats.x0?.mean ?? 0, kind: ResultKind.model_performance, status: ResultStatus.no_detection },
    ];
  }
}

class BrokenApp extends MonitoringApplication {
  doTracking(): never {
    throw new Error('this app always fails');
  }
}

/** Why `combo` cannot run here, or undefined when it can. */
async function skipReason(combo: Combination, selected: readonly SqlBackendName[]): Promise<string | undefined> {
  if (!selected.includes(combo.sql)) return `${combo.sql} is not in MODELWATCH_TEST_BACKENDS`;
  const sql = await unavailableReason(combo.sql);
  if (sql) return sql;
  return combo.stream === 'nats' ? natsUnavailableReason() : undefined;
}

/** Platform options of `combo` in a fresh home, with fresh databases and a NATS namespace of its own; `cleanup` removes them all. */
async function provision(combo: Combination): Promise<{ options: PlatformOptions; cleanup: () => Promise<void> }> {
  const t = tempHome();
  const options: PlatformOptions = { home: t.home };
  const dbs = new FreshDatabases(combo.sql);
  const namespace = combo.stream === 'nats' ? natsNamespace() : undefined;
  if (combo.sql !== 'sqlite') options.storeUrl = await dbs.create(); // the time series go to the store's database, the default
  if (namespace) options.streamUrl = natsUrl(namespace);
  return {
    options,
    cleanup: async () => {
      await dbs.dropAll();
      if (namespace) await deleteNatsNamespace(namespace);
      t.cleanup();
    },
  };
}

/** The flow's cases, run against the deployment `combo` describes. */
function flowCases(combo: Combination): void {
  let mw: Modelwatch;
  let project: Project;
  let fn: ServingFunction;
  let clock: ManualClock;
  let cleanup: (() => Promise<void>) | undefined;
  const r = rng(7);

  before(async () => {
    const p = await provision(combo);
    cleanup = p.cleanup;
    clock = new ManualClock(Date.UTC(2026, 2, 1, 0, 0, 0));
    mw = await Modelwatch.open({ ...p.options, clock, background: false });
    project = await mw.createProject('e2e');
    const training = Array.from({ length: 2000 }, () => {
      const x0 = r.normal(0, 1);
      const x1 = r.normal(5, 2);
      return { x0, x1, y: x0 + 0.5 * x1 };
    });
    const model = await project.logModel('linear', { model: { weights: [1, 0.5] }, trainingSet: training, labelColumn: 'y' });
    assert.equal(model.uri, 'store://models/e2e/linear:latest');
    assert.deepEqual(model.featureNames, ['x0', 'x1']);
    assert.equal(model.featureStats.x0?.hist?.counts.length, 22);

    await project.enableModelMonitoring({ basePeriod: 10 });
    await project.setModelMonitoringFunction({ name: 'row-count', application: RowCountApp });
    await project.deployFunction('row-count');
    await project.setModelMonitoringFunction({ name: 'broken', application: BrokenApp });
    await project.deployFunction('broken');

    fn = await project.setFunction('serving', { kind: 'serving' });
    fn.addModel('linear', { modelPath: path.join(here, '../fixtures/models/linear-model.ts'), className: 'LinearModel', modelUri: model.uri });
    fn.setTracking();
    await project.deployFunction(fn);
  });

  after(async () => {
    try {
      await mw?.close();
    } finally {
      await cleanup?.();
    }
  });

  async function sendWindow(n: number, shift: number): Promise<void> {
    const start = clock.now();
    for (let i = 0; i < n; i++) {
      const x0 = r.normal(shift, 1);
      const x1 = r.normal(5 + shift, 2);
      const body = i % 2 === 0
        ? { id: `req-${start}-${i}`, inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP64', data: [x0, x1] }] }
        : { id: `req-${start}-${i}`, inputs: [[x0, x1]] };
      const res = (await fn.invoke('/v2/models/linear/infer', body)) as { outputs: { data: number[] }[] };
      assert.ok(Math.abs(res.outputs[0]!.data[0]! - (x0 + 0.5 * x1)) < 1e-9);
      clock.advance(Math.floor(PERIOD / n));
    }
  }

  test('serving answers the V2 protocol over real HTTP and counts bad requests as endpoint errors', async () => {
    const f = await project.getFunction('serving');
    assert.equal(f.status.state, 'running');
    const base = f.status.address!;
    assert.equal((await fetch(new URL('/v2/health/ready', base))).status, 200);
    const meta = (await (await fetch(new URL('/v2/models/linear', base))).json()) as { name: string };
    assert.equal(meta.name, 'linear');
    clock.set(Date.UTC(2026, 2, 1, 0, 0, 0));
    const bad = await fetch(new URL('/v2/models/linear/infer', base), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP64', data: [1] }] }) });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { message: string }).message, /needs 2 values/);
    const unknown = await fetch(new URL('/v2/models/nope/infer', base), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"inputs":[[1,2]]}' });
    assert.equal(unknown.status, 404);
    // Text where the training set had numbers is refused before the model sees it.
    const wrongType = await fetch(new URL('/v2/models/linear/infer', base), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"inputs":[["a","b"]]}' });
    assert.equal(wrongType.status, 400);
    assert.match(((await wrongType.json()) as { message: string }).message, /inputs\[0\]\[0\] is "a"/);
    // A missing value is allowed through; this model throws on it: its own error is a 500.
    const failing = await fetch(new URL('/v2/models/linear/infer', base), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"inputs":[[null,1]]}' });
    assert.equal(failing.status, 500);
    assert.match(((await failing.json()) as { message: string }).message, /must be a number/);
  });

  test('windows close on time: like-training traffic shows no drift, shifted traffic is detected', async () => {
    clock.set(Date.UTC(2026, 2, 1, 0, 0, 0));
    await sendWindow(200, 0); // window 00:00–00:10
    await sendWindow(200, 3); // window 00:10–00:20, shifted
    // Nothing arrives after the second window: it still closes once its end + grace passes.
    clock.set(Date.UTC(2026, 2, 1, 0, 21, 1));
    await mw.runUntilIdle();

    const [ep] = await project.listModelEndpoints();
    assert.ok(ep);
    assert.equal(ep.name, 'linear');
    assert.deepEqual(ep.featureNames, ['x0', 'x1']);
    assert.deepEqual(ep.labelNames, ['y']);
    assert.equal(ep.errorCount, 3, 'the bad body, the wrong input type and the model exception are endpoint errors');
    assert.equal(ep.metrics.predictions1h, 400);
    assert.ok(ep.metrics.latencyAvg1hUs! > 0);

    const drift = await project.listResults({ endpointId: ep.id, app: 'histogram-data-drift', name: 'general_drift' });
    assert.equal(drift.length, 2);
    const [w1, w2] = drift.sort((a, b) => a.windowStart - b.windowStart);
    assert.equal(w1!.windowStart, Date.UTC(2026, 2, 1, 0, 0));
    assert.equal(w1!.windowEnd, Date.UTC(2026, 2, 1, 0, 10));
    assert.equal(w1!.status, ResultStatus.no_detection, `window 1 general_drift ${w1!.value}`);
    assert.equal(w2!.status, ResultStatus.detected, `window 2 general_drift ${w2!.value}`);
    assert.equal(ep.driftStatus, 'detected');
    assert.equal((ep.driftMeasures as { windowEnd: number }).windowEnd, Date.UTC(2026, 2, 1, 0, 20));

    const metrics = await project.listMetrics({ endpointId: ep.id, app: 'histogram-data-drift' });
    assert.deepEqual([...new Set(metrics.map((m) => m.name))].sort(), ['hellinger_mean', 'kld_mean', 'tvd_mean']);
    const rows = await project.listMetrics({ endpointId: ep.id, app: 'row-count', name: 'rows' });
    assert.deepEqual(rows.map((m) => m.value), [200, 200]);

    const events = await project.listEvents({ endpointId: ep.id });
    assert.ok(events.some((e) => e.kind === 'data-drift-detected' && e.windowStart === w2!.windowStart));
    assert.equal(events.filter((e) => e.kind === 'mm-app-failed').length, 2, 'the broken app fails on both windows without stopping the others');
  });

  test('empty windows are skipped, missed windows are caught up, and nothing runs twice', async () => {
    const before = (await project.listResults({ app: 'histogram-data-drift' })).length;
    clock.set(Date.UTC(2026, 2, 1, 1, 0, 0)); // 00:20–01:00 had no traffic
    await sendWindow(50, 0); // 01:00–01:10
    await sendWindow(50, 0); // 01:10–01:20
    clock.set(Date.UTC(2026, 2, 1, 2, 0, 0)); // the controller was away: both windows are caught up
    await mw.runUntilIdle();
    await mw.runUntilIdle();
    const all = await project.listResults({ app: 'histogram-data-drift', name: 'general_drift' });
    assert.equal(all.length - before, 2);
    assert.deepEqual(all.map((x) => x.windowStart).sort(), [0, 10, 60, 70].map((m) => Date.UTC(2026, 2, 1, 0, m)));
    const ep = (await project.listModelEndpoints())[0]!;
    assert.equal(ep.driftStatus, 'no_detection');
    const latest = await project.latestResults({ endpointId: ep.id, app: 'histogram-data-drift' });
    assert.equal(latest.length, 1);
    assert.equal(latest[0]!.windowStart, Date.UTC(2026, 2, 1, 1, 10));
  });

  test('functions and credentials follow the SDK contract', async () => {
    const apps = await project.listModelMonitoringFunctions();
    assert.deepEqual(apps.map((a) => a.name).sort(), ['broken', 'histogram-data-drift', 'row-count']);
    await assert.rejects(project.setModelMonitoringFunction({ name: 'model-monitoring-writer', application: RowCountApp }), /reserved/);

    // Credentials of another project, so that this one keeps its stream: every scheme is usable, none leaks its password.
    const other = await mw.createProject('e2e-credentials');
    const c = await other.setModelMonitoringCredentials({ streamPath: 'kafka://user:secret@127.0.0.1:9092', tsdbConnection: 'postgres://mw:hunter2@db.internal/mw' });
    assert.deepEqual(c.notAvailable, []);
    assert.equal(c.streamPath, 'kafka://user:***@127.0.0.1:9092');
    assert.equal(c.tsdbConnection, 'postgres://mw:***@db.internal/mw');
    assert.equal(JSON.stringify(await other.getModelMonitoringCredentials()).match(/secret|hunter2/), null);
    await assert.rejects(other.setModelMonitoringCredentials({ streamPath: 'kafka://127.0.0.1:9093' }), (e: Error) => e instanceof ConflictError && /replace/.test(e.message));
    assert.equal((await other.setModelMonitoringCredentials({ streamPath: 'kafka://127.0.0.1:9093', replace: true })).streamPath, 'kafka://127.0.0.1:9093');
    await assert.rejects(other.setModelMonitoringCredentials({ streamPath: 'ftp://x', replace: true }), (e: Error) => e instanceof ValidationError && /stream/.test(e.message));
    await assert.rejects(other.setModelMonitoringCredentials({ tsdbConnection: 'nats://127.0.0.1:4222', replace: true }), ValidationError);

    await project.removeModelMonitoringFunction('broken');
    assert.equal((await project.listModelMonitoringFunctions({ name: 'broken' })).length, 0);
    await project.disableModelMonitoring();
    const fns = await project.listFunctions();
    assert.equal(fns.find((f) => f.name === 'model-monitoring-controller')?.deployed, false);
    assert.equal(fns.find((f) => f.name === 'histogram-data-drift'), undefined);
    assert.equal((await project.record()).monitoring?.enabled, false);
  });
}

const selected = selectedBackends();
for (const combo of COMBINATIONS) {
  const skip = await skipReason(combo, selected);
  describe(combo.title, skip ? { skip } : {}, () => flowCases(combo));
}
