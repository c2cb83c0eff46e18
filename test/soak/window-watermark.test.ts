import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { endpointId } from '../../src/common/ids.ts';
import { CONTROLLER_FUNCTION, STREAM_FUNCTION } from '../../src/common/names.ts';
import type { InferenceEvent } from '../../src/common/types.ts';
import { Platform } from '../../src/project/platform.ts';
import type { FunctionRecord } from '../../src/store/port.ts';
import { topics, type Subscription } from '../../src/stream/port.ts';
import { CLI, childEnv } from '../server/helpers.ts';

/*
 * The measurement, on the real clock with `modelwatch worker` processes (embedded default:
 * SQLite and the embedded log): traffic goes into one 1-minute window (grace 5 s), and the stream
 * processor's process is stopped (SIGSTOP) in the middle of it and only continued 15 s after the
 * grace is over. The controller, in a process of its own, must not hand the window out while the
 * processor is stopped, and must hand it out once every row is stored: at that moment the window
 * holds every row published into it. A row sent into the window after that is counted as late.
 */

const PROJECT = 'soak';
const APP = 'rows';
const PERIOD = 60_000;
const GRACE_S = 5;
const ENDPOINTS = 50;
const ROWS_PER_EVENT = 2;

function event(ep: number, at: number, i: number): InferenceEvent {
  return {
    v: 1,
    endpointId: endpointId({ project: PROJECT, function: 'svc', model: `m${ep}` }),
    project: PROJECT,
    function: 'svc',
    model: `m${ep}`,
    when: new Date(at).toISOString(),
    latencyUs: 1000,
    request: { id: `e${ep}-${i}`, inputs: Array.from({ length: ROWS_PER_EVENT }, (_, r) => [i, r, ep]) },
    response: { outputs: Array.from({ length: ROWS_PER_EVENT }, () => 1) },
  };
}

/** A `modelwatch worker` process, its output kept line by line. */
function worker(home: string, fn: string, lines: string[]): ChildProcess {
  const child = spawn(process.execPath, [...CLI, '--home', home, 'worker', '--project', PROJECT, '--function', fn], {
    env: childEnv({ MODELWATCH_LOG_LEVEL: 'info' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const s of [child.stdout!, child.stderr!]) {
    s.setEncoding('utf8');
    s.on('data', (d: string) => lines.push(...d.split('\n').filter(Boolean).map((l) => `${fn}: ${l}`)));
  }
  return child;
}

const sleepUntil = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGCONT');
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(killer);
}

/** Window jobs for the app that arrived so far, by window start. */
async function jobsOf(sub: Subscription): Promise<{ endpointId: string; windowStart: number }[]> {
  return (await sub.fetch(10_000, 0)).map((m) => JSON.parse(m.value) as { endpointId: string; windowStart: number });
}

describe('windows wait for a stalled stream processor (worker processes, real clock)', () => {
  it('hands a window out only once every row published into it is stored, then counts a late row', { timeout: 360_000 }, async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-soak-watermark-'));
    const platform = await Platform.open({ home });
    const lines: string[] = [];
    const procs: ChildProcess[] = [];
    try {
      const now = Date.now();
      await platform.store.createProject({
        name: PROJECT,
        description: '',
        labels: {},
        monitoring: { enabled: true, basePeriodMinutes: 1, graceSeconds: GRACE_S, maxWindowsPerTick: 12, enabledAt: now },
        createdAt: now,
      });
      const fn = (name: string, kind: FunctionRecord['kind']): FunctionRecord => ({ project: PROJECT, name, kind, spec: {}, labels: {}, deployed: true, status: { state: 'running' }, createdAt: now, updatedAt: now });
      await platform.store.putFunction(fn(STREAM_FUNCTION, 'infrastructure'));
      await platform.store.putFunction(fn(CONTROLLER_FUNCTION, 'infrastructure'));
      await platform.store.putFunction(fn(APP, 'monitoring-application'));
      const stream = await platform.streamFor(PROJECT);
      const probe = await stream.subscribe(topics.app(PROJECT, APP), 'probe');
      const processor = worker(home, STREAM_FUNCTION, lines);
      procs.push(processor, worker(home, CONTROLLER_FUNCTION, lines));

      // The traffic goes into the next whole minute.
      const W = Math.ceil((Date.now() + 5000) / PERIOD) * PERIOD;
      await sleepUntil(W + 500);
      const published = new Map<string, number>();
      let i = 0;
      let stopped = false;
      while (Date.now() < W + 50_000) {
        if (!stopped && Date.now() >= W + 30_000) {
          processor.kill('SIGSTOP');
          stopped = true;
        }
        const at = Date.now();
        const batch = Array.from({ length: ENDPOINTS }, (_, ep) => event(ep, at, i++));
        await stream.publish(topics.events(PROJECT), batch.map((e) => ({ key: e.endpointId, value: JSON.stringify(e) })));
        for (const e of batch) published.set(e.endpointId, (published.get(e.endpointId) ?? 0) + ROWS_PER_EVENT);
        await new Promise((r) => setTimeout(r, 20));
      }
      const total = [...published.values()].reduce((a, b) => a + b, 0);
      const tsdb = await platform.tsdbFor(PROJECT);
      const window = { start: W, end: W + PERIOD };
      const ids = [...published.keys()];
      const stored = async () => [...(await tsdb.countPredictionsByEndpoint(PROJECT, ids, window)).values()].reduce((a, b) => a + b, 0);

      // 15 s past the grace, with the processor stopped since W + 30 s: the window must wait.
      await sleepUntil(W + PERIOD + GRACE_S * 1000 + 15_000);
      const behind = await stored();
      assert.ok(behind < total, `the processor was stopped with rows unstored (${behind} of ${total})`);
      assert.deepEqual((await jobsOf(probe)).filter((j) => j.windowStart === W), [], 'the window waits for the processor');
      assert.ok(lines.some((l) => l.includes('windows wait for the stream processor')), `the controller says why:\n${lines.slice(-20).join('\n')}`);

      processor.kill('SIGCONT');
      const deadline = Date.now() + 120_000;
      let jobs: { endpointId: string; windowStart: number }[] = [];
      let atHandOut = -1;
      while (jobs.length < ENDPOINTS) {
        assert.ok(Date.now() < deadline, `only ${jobs.length} of ${ENDPOINTS} windows were handed out:\n${lines.slice(-20).join('\n')}`);
        const got = (await jobsOf(probe)).filter((j) => j.windowStart === W);
        // Counted right when the first jobs are seen: the window was complete when it was handed out.
        if (got.length > 0 && atHandOut < 0) atHandOut = await stored();
        jobs = jobs.concat(got);
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(atHandOut, total, 'every row published into the window was stored when it was handed out');
      assert.deepEqual(new Set(jobs.map((j) => j.endpointId)), new Set(ids));

      // A row of that window sent now is late: stored, and counted for its endpoint and window.
      const late = event(0, W + 1000, i++);
      await stream.publish(topics.events(PROJECT), [{ key: late.endpointId, value: JSON.stringify(late) }]);
      const endpoints = await platform.endpointStoreFor(PROJECT);
      const until = Date.now() + 60_000;
      let lateWindows = await endpoints.listLateWindows(PROJECT);
      while (lateWindows.length === 0 && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 200));
        lateWindows = await endpoints.listLateWindows(PROJECT);
      }
      assert.deepEqual(lateWindows.map((w) => [w.endpointId, w.windowStart, w.latePredictions]), [[late.endpointId, W, ROWS_PER_EVENT]]);
      assert.equal((await endpoints.getEndpoint(PROJECT, late.endpointId))?.latePredictions, ROWS_PER_EVENT);
      await probe.close();
    } finally {
      await Promise.all(procs.map(stop));
      await platform.close();
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
