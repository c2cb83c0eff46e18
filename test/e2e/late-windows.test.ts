import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MonitoringApplication } from '../../src/apps/base.ts';
import type { MonitoringApplicationContext } from '../../src/apps/context.ts';
import { ManualClock } from '../../src/common/clock.ts';
import { endpointId } from '../../src/common/ids.ts';
import type { InferenceEvent } from '../../src/common/types.ts';
import { Controller } from '../../src/pipeline/controller/controller.ts';
import { StreamProcessor } from '../../src/pipeline/stream-processor/stream-processor.ts';
import type { Worker } from '../../src/pipeline/worker.ts';
import { Writer } from '../../src/pipeline/writer/writer.ts';
import { Platform } from '../../src/project/platform.ts';
import { createWorker, newRegistry } from '../../src/project/runtime.ts';
import { topics } from '../../src/stream/port.ts';
import { ok, openPlatform, runCli, startServer, tempHome } from '../server/helpers.ts';

/*
 * Late predictions as an operator sees them: a window analyzed, then a row of it stored; the
 * endpoint's count, the window listed with what no analysis has taken in, and the reanalysis
 * asked for, through the REST API (a real server and HTTP client) and the CLI (a child process).
 */

const PROJECT = 'late';
const APP = 'rows';
const PERIOD = 60_000;
const W = Date.UTC(2026, 5, 2, 9, 0);
const EP = endpointId({ project: PROJECT, function: 'svc', model: 'm' });

class RowsApp extends MonitoringApplication {
  doTracking(ctx: MonitoringApplicationContext): Record<string, number> {
    return { rows: ctx.sample.totalRows };
  }
}

function event(at: number, id: string): InferenceEvent {
  return {
    v: 1,
    endpointId: EP,
    project: PROJECT,
    function: 'svc',
    model: 'm',
    when: new Date(at).toISOString(),
    latencyUs: 1000,
    request: { id, inputs: [[1], [2]] },
    response: { outputs: [0, 1] },
  };
}

/** Steps the workers in turn until `done()` holds. */
async function until(workers: Worker[], done: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`${workers.map((w) => w.name).join(', ')}: not done in 30 s`);
    let did = 0;
    for (const w of workers) did += await w.step();
    if (did === 0) await new Promise((r) => setTimeout(r, 10));
  }
}

describe('late predictions through the REST API and the CLI', { timeout: 180_000 }, () => {
  let home: string;
  let cleanup: () => Promise<void>;

  before(async () => {
    ({ home, cleanup } = await tempHome('mw-late-'));
    // A window analyzed on its 10 rows, then 2 rows of it stored late.
    const clock = new ManualClock(W);
    const platform = await Platform.open({ home, clock });
    await platform.store.createProject({ name: PROJECT, description: '', labels: {}, monitoring: { enabled: true, basePeriodMinutes: 1, graceSeconds: 5, maxWindowsPerTick: 5, enabledAt: W }, createdAt: W });
    const fn = { project: PROJECT, name: APP, kind: 'monitoring-application' as const, spec: { inProcess: true }, labels: {}, deployed: true, status: { state: 'running' as const }, createdAt: W, updatedAt: W };
    await platform.store.putFunction(fn);
    const registry = newRegistry();
    registry.apps.set(`${PROJECT}/${APP}`, RowsApp);
    const stream = await platform.streamFor(PROJECT);
    const publish = (events: InferenceEvent[]) => stream.publish(topics.events(PROJECT), events.map((e) => ({ key: e.endpointId, value: JSON.stringify(e) })));
    const tsdb = await platform.tsdbFor(PROJECT);
    const stored = () => tsdb.countPredictions(PROJECT, EP, { start: W, end: W + PERIOD });
    const sp = new StreamProcessor(platform, PROJECT);
    const c = new Controller(platform, PROJECT, { holder: 'c' });
    const runner = await createWorker(platform, fn, registry);
    const writer = new Writer(platform, PROJECT);
    await publish(Array.from({ length: 5 }, (_, i) => event(W + i * 1000, `r${i}`)));
    await until([sp], async () => (await stored()) === 10);
    clock.set(W + PERIOD + 6000);
    assert.equal(await c.step(), 1);
    await until([runner, writer], async () => (await tsdb.listMetrics(PROJECT, { name: 'rows' })).length === 1);
    await publish([event(W + 20_000, 'late-1')]);
    await until([sp], async () => (await stored()) === 12);
    assert.equal(sp.lateRows, 2);
    await sp.close();
    await c.close();
    await runner.close?.();
    await writer.close();
    await platform.close();
  });

  after(async () => cleanup());

  test('the CLI lists the late window and the endpoint shows its late predictions', async () => {
    const mw = (...args: string[]) => runCli(['--home', home, ...args]);
    const listed = JSON.parse(ok(await mw('windows', 'late', '--project', PROJECT, '--json')).stdout) as Record<string, unknown>[];
    assert.equal(listed.length, 1);
    assert.deepEqual(
      { endpointId: listed[0]!.endpointId, windowStart: listed[0]!.windowStart, windowEnd: listed[0]!.windowEnd, late: listed[0]!.latePredictions, pending: listed[0]!.pendingPredictions, reanalyzedAt: listed[0]!.reanalyzedAt },
      { endpointId: EP, windowStart: W, windowEnd: W + PERIOD, late: 2, pending: 2, reanalyzedAt: null },
    );
    const table = ok(await mw('windows', 'late', '--project', PROJECT)).stdout;
    assert.match(table, /^ENDPOINT\s+WINDOW START\s+WINDOW END\s+LATE\s+NOT ANALYZED/m);
    assert.match(table, new RegExp(`^${EP.slice(0, 12)}\\s+2026-06-02T09:00:00Z\\s+2026-06-02T09:01:00Z\\s+2\\s+2\\s`, 'm'));
    assert.match(ok(await mw('endpoints', 'get', EP, '--project', PROJECT)).stdout, /^late predictions:\s+2$/m);
    const usage = await mw('windows', 'reanalyze', '--project', PROJECT);
    assert.equal(usage.code, 2, usage.stderr);
    assert.match(usage.stderr, /give --late, or --endpoint and --start/);
  });

  test('the REST API shows them, refuses bad reanalysis requests with 4xx, and hands the late window out again', async () => {
    const platform = await openPlatform(home);
    const { app, url } = await startServer(platform);
    try {
      const api = `${url}/api/v1/projects/${PROJECT}`;
      const get = async (p: string) => {
        const r = await fetch(`${api}${p}`);
        return { status: r.status, body: (await r.json()) as unknown };
      };
      const post = async (p: string, body: unknown) => {
        const r = await fetch(`${api}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        return { status: r.status, body: (await r.json()) as { message?: string } };
      };
      assert.equal(((await get(`/endpoints/${EP}`)).body as { latePredictions: number }).latePredictions, 2);
      const pending = await get('/late-windows?pending=true');
      assert.equal(pending.status, 200);
      assert.deepEqual((pending.body as { endpointId: string; pendingPredictions: number }[]).map((w) => [w.endpointId, w.pendingPredictions]), [[EP, 2]]);
      assert.equal((await get('/late-windows?limit=0')).status, 400);
      assert.equal((await get('/late-windows?pending=yes')).status, 400);

      assert.equal((await post('/reanalyze', {})).status, 400, 'neither late nor a window');
      assert.equal((await post('/reanalyze', { late: true, endpointId: EP, windowStart: W })).status, 400, 'both');
      const offGrid = await post('/reanalyze', { endpointId: EP, windowStart: W + 1 });
      assert.equal(offGrid.status, 400);
      assert.match(offGrid.body.message ?? '', /on the 1-minute grid, e\.g\. 2026-06-02T09:00:00\.000Z/);
      assert.equal((await post('/reanalyze', { endpointId: 'nobody', windowStart: W })).status, 404);
      assert.equal((await post('/reanalyze', { late: true, app: 'nothing-deployed' })).status, 404);
      const open = await post('/reanalyze', { endpointId: EP, windowStart: new Date(W + 10 * PERIOD).toISOString() });
      assert.equal(open.status, 409, 'a window not analyzed yet');
      assert.match(open.body.message ?? '', /has not been analyzed yet/);
      assert.equal((await post('/reanalyze', { late: 'yes' })).status, 400);

      const handed = await post('/reanalyze', { late: true });
      assert.equal(handed.status, 200);
      assert.deepEqual(handed.body, [{ endpointId: EP, app: APP, windowStart: W, windowEnd: W + PERIOD }]);
      const after = (await get('/late-windows')).body as { pendingPredictions: number; reanalyzedAt: number | null }[];
      assert.equal(after[0]?.pendingPredictions, 0);
      assert.equal(typeof after[0]?.reanalyzedAt, 'number');
      assert.deepEqual((await get('/late-windows?pending=true')).body, []);
      // One window, given by its ISO start: handed out again whatever its late predictions.
      assert.deepEqual((await post('/reanalyze', { endpointId: EP, windowStart: new Date(W).toISOString(), app: APP })).body, [{ endpointId: EP, app: APP, windowStart: W, windowEnd: W + PERIOD }]);
      // The jobs are on the app's topic, as the controller's are.
      const sub = await (await platform.streamFor(PROJECT)).subscribe(topics.app(PROJECT, APP), 'probe');
      const jobs = (await sub.fetch(10, 0)).map((m) => JSON.parse(m.value) as { windowStart: number; endpointId: string });
      await sub.close();
      assert.deepEqual(jobs.map((j) => [j.endpointId, j.windowStart]), [[EP, W], [EP, W], [EP, W]], 'the controller\'s hand-out and two reanalyses');
    } finally {
      await app.close();
      await platform.close();
    }
    const cli = ok(await runCli(['--home', home, 'windows', 'reanalyze', '--project', PROJECT, '--late'])).stdout;
    assert.match(cli, /\(nothing to reanalyze\)/);
  });
});
