import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { threadId } from 'node:worker_threads';
import pino from 'pino';
import { ApplicationError, ValidationError } from '../common/errors.ts';
import type { AppMetric } from '../common/types.ts';
import { inProcessHost, startAppThread, type AppHost, type AppThreadOptions } from './app-host.ts';
import type { RunOutcome } from './app-run.ts';
import { MonitoringApplication } from './base.ts';
import type { MonitoringApplicationContext, ReferenceData } from './context.ts';
import type { ContextData } from './context-builder.ts';
import { DEFAULT_RUN_LIMITS, type RunLimits } from './run-limits.ts';
import type { TrainingSets } from './training-sets.ts';

/*
 * The hosts that run an application's windows, on real threads: one thread per app, reused from
 * window to window; a run past its deadline or its memory limit is stopped, reported with the
 * reason, and the next window runs on a fresh thread; an app that throws or returns invalid output
 * is reported so; load failures fail the deploy with the app's own error.
 */

const APPS = fileURLToPath(new URL('../../test/fixtures/apps/misbehaving-apps.ts', import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-app-host-'));
const lines: Record<string, unknown>[] = [];
const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
const hosts: AppHost[] = [];

after(async () => {
  await Promise.all(hosts.map((h) => h.close()));
  fs.rmSync(tmp, { recursive: true, force: true });
});

function window(n: number, options: Record<string, unknown>): ContextData {
  return {
    applicationName: 'scripted',
    project: 'p',
    endpoint: { id: `ep-${n}`, name: 'ep', function: 'svc', model: 'm', modelVersion: '', modelUri: 'store://models/p/m:latest', featureNames: ['x'], labelNames: [] },
    startMs: 600_000 * n,
    endMs: 600_000 * (n + 1),
    sample: { columns: { x: [1, 2, 3] }, rowCount: 3, totalRows: 3, requestIds: ['a', 'b', 'c'], times: [1, 2, 3] },
    sampleStats: {},
    featureStats: {},
    options,
  };
}

/** Training sets as the runner's would answer: `version` and the table, counting how often the table is read. */
function trainingSets(state: { version: string; rows: number; reads: number }): TrainingSets {
  return {
    lookup: async () => ({
      version: state.version,
      get table(): Promise<ReferenceData> {
        state.reads++;
        return Promise.resolve({ names: ['x'], columns: { x: Array.from({ length: state.rows }, (_, i) => i) }, rowCount: state.rows, modelUri: 'm' });
      },
    }),
  } as unknown as TrainingSets;
}
const noTrainingSets = trainingSets({ version: 'v', rows: 0, reads: 0 });

async function start(className: string, limits: Partial<RunLimits> = {}, over: Partial<AppThreadOptions> = {}): Promise<AppHost> {
  const host = await startAppThread({
    appName: 'scripted',
    source: { module: APPS, className },
    options: {},
    artifactPath: tmp,
    logger,
    limits: { ...DEFAULT_RUN_LIMITS, ...limits },
    ...over,
  });
  hosts.push(host);
  return host;
}

function metric(o: RunOutcome, name: string): number {
  assert.ok(o.ok, `the run failed: ${o.ok ? '' : o.error}`);
  const m = o.metrics.find((x: AppMetric) => x.name === name);
  assert.ok(m, `no metric ${name} in ${JSON.stringify(o.metrics)}`);
  return m.value;
}

function failed(o: RunOutcome): string {
  assert.ok(!o.ok, `the run should have failed, it gave ${JSON.stringify(o)}`);
  return o.error;
}

describe('an app in its own thread', () => {
  test('runs every window on one thread, not this one, and its log lines come here tagged with the window', async () => {
    const host = await start('ScriptedApp');
    assert.equal(host.isolation, 'thread');
    const threads = new Set<number>();
    for (let n = 0; n < 5; n++) threads.add(metric(await host.run(window(n, { mode: 'ok' }), noTrainingSets), 'thread'));
    assert.equal(threads.size, 1, 'one thread for every window');
    assert.ok(!threads.has(threadId), 'not the calling thread');
    const logged = lines.filter((l) => l.msg === 'scripted run');
    assert.equal(logged.length, 5);
    assert.deepEqual({ app: logged[4]!.app, endpoint: logged[4]!.endpoint, windowStart: logged[4]!.windowStart, window: logged[4]!.window }, {
      app: 'scripted', endpoint: 'ep-4', windowStart: new Date(2_400_000).toISOString(), window: 2_400_000,
    });
  });

  test('an endless loop is stopped at the deadline, and the next window runs on a fresh thread', async () => {
    const host = await start('ScriptedApp', { timeoutSeconds: 1 });
    const first = metric(await host.run(window(0, { mode: 'ok' }), noTrainingSets), 'thread');
    const t0 = performance.now();
    const error = failed(await host.run(window(1, { mode: 'loop' }), noTrainingSets));
    const took = performance.now() - t0;
    assert.equal(error, 'timed out after 1 s (its timeoutSeconds); the run was stopped');
    assert.ok(took >= 900 && took < 10_000, `stopped after ${took} ms`);
    const second = metric(await host.run(window(2, { mode: 'ok' }), noTrainingSets), 'thread');
    assert.notEqual(second, first, 'a new thread');
    // An asynchronous run that never settles is stopped the same way.
    assert.equal(failed(await host.run(window(3, { mode: 'hang' }), noTrainingSets)), 'timed out after 1 s (its timeoutSeconds); the run was stopped');
    assert.ok(metric(await host.run(window(4, { mode: 'ok' }), noTrainingSets), 'thread') > second);
  });

  test('windows handed over together wait their turn: the deadline counts from the start of each run', async () => {
    const host = await start('ScriptedApp', { timeoutSeconds: 1 });
    const outcomes = await Promise.all([host.run(window(0, { mode: 'loop' }), noTrainingSets), host.run(window(1, { mode: 'ok' }), noTrainingSets), host.run(window(2, { mode: 'ok' }), noTrainingSets)]);
    assert.match(failed(outcomes[0]!), /^timed out/);
    assert.equal(metric(outcomes[1]!, 'thread'), metric(outcomes[2]!, 'thread'), 'both on the fresh thread');
  });

  test('a heap that grows every run hits the memory limit: that run fails, the next starts from a fresh heap', async () => {
    const host = await start('ScriptedApp', { memoryLimitMb: 64, timeoutSeconds: 60 });
    const outcomes: RunOutcome[] = [];
    for (let n = 0; n < 8; n++) outcomes.push(await host.run(window(n, { mode: 'leak', mb: 16 }), noTrainingSets));
    const errors = outcomes.filter((o) => !o.ok).map(failed);
    assert.ok(errors.length >= 1, 'at least one run over the limit');
    for (const e of errors) assert.equal(e, 'exceeded its memory limit of 64 MB (its memoryLimitMb); the run was stopped');
    // After the first failure the count of kept objects starts over: the leak went with the thread.
    const firstFail = outcomes.findIndex((o) => !o.ok);
    const after = outcomes[firstFail + 1];
    assert.ok(after?.ok, 'the run after the failure works');
    assert.ok(metric(after, 'kept') <= metric(outcomes[0]!, 'kept'), 'on a fresh heap');
  });

  test('buffers held past a run count against the limit too', async () => {
    const host = await start('ScriptedApp', { memoryLimitMb: 64 });
    const outcomes: RunOutcome[] = [];
    for (let n = 0; n < 4; n++) outcomes.push(await host.run(window(n, { mode: 'buffers', mb: 20 }), noTrainingSets));
    assert.deepEqual(outcomes.slice(0, 3).map((o) => o.ok), [true, true, true], '60 MB of buffers is within 64 MB');
    assert.match(failed(outcomes[3]!), /^exceeded its memory limit of 64 MB \(its memoryLimitMb\): it held 8\d MB of buffers after the run; the run was stopped$/);
    assert.equal(metric(await host.run(window(4, { mode: 'buffers', mb: 20 }), noTrainingSets), 'kept'), 1, 'a fresh thread holds none');
  });

  test('an app that throws or returns invalid output is reported so, and its thread goes on', async () => {
    const host = await start('ScriptedApp');
    const thread = metric(await host.run(window(0, { mode: 'ok' }), noTrainingSets), 'thread');
    assert.equal(failed(await host.run(window(1, { mode: 'throw' }), noTrainingSets)), 'threw: scripted failure');
    assert.equal(failed(await host.run(window(2, { mode: 'invalid' }), noTrainingSets)), "returned invalid output: metric 'value' has value NaN; a finite number is needed");
    assert.equal(metric(await host.run(window(3, { mode: 'ok' }), noTrainingSets), 'thread'), thread, 'the same thread');
  });

  test('the training set crosses to the thread once per version', async () => {
    const host = await start('ScriptedApp');
    const state = { version: 'v1', rows: 10, reads: 0 };
    const sets = trainingSets(state);
    assert.equal(metric(await host.run(window(0, { mode: 'reference' }), sets), 'reference_rows'), 10);
    assert.equal(metric(await host.run(window(1, { mode: 'reference' }), sets), 'reference_rows'), 10);
    assert.equal(state.reads, 1, 'sent once');
    Object.assign(state, { version: 'v2', rows: 20 }); // the model was logged again
    assert.equal(metric(await host.run(window(2, { mode: 'reference' }), sets), 'reference_rows'), 20);
    assert.equal(state.reads, 2);
  });

  test('closing stops a run in flight at once (an endless loop too): it ends as stopped, which is no failure of the window', async () => {
    const host = await start('ScriptedApp', { timeoutSeconds: 60 });
    const t0 = performance.now();
    const running = host.run(window(0, { mode: 'loop' }), noTrainingSets);
    const waiting = host.run(window(1, { mode: 'ok' }), noTrainingSets);
    await new Promise((r) => setTimeout(r, 300));
    await host.close();
    for (const o of await Promise.all([running, waiting])) assert.deepEqual(o, { ok: false, error: 'the application was stopped before the run ended', stopped: true });
    assert.ok(performance.now() - t0 < 10_000, 'not waited for until its deadline');
  });

  test('an app that cannot load fails with its own error', async () => {
    await assert.rejects(start('NoSuchClass'), (e: unknown) => e instanceof ValidationError && /exports no monitoring application class named 'NoSuchClass'/.test(e.message));
    await assert.rejects(start('BadOptionsApp'), (e: unknown) => e instanceof ApplicationError && e.message === "monitoring application 'scripted': threshold must be a number");
    await assert.rejects(
      start('GoodApp', {}, { source: { module: path.join(tmp, 'missing.js'), as: 'apps/missing.js' } }),
      (e: unknown) => e instanceof ApplicationError && /^monitoring application 'scripted': could not import module 'apps\/missing\.js'/.test(e.message),
    );
    await assert.rejects(start('GoodApp', {}, { source: { builtin: 'no-such-builtin' } }), (e: unknown) => e instanceof ValidationError && /names the built-in 'no-such-builtin', which does not exist/.test(e.message));
    const slow = path.join(tmp, 'slow-load.mjs');
    fs.writeFileSync(slow, 'for (;;) {}\nexport class A { doTracking() {} }\n');
    await assert.rejects(start('A', {}, { source: { module: slow }, loadTimeoutSeconds: 1 }), (e: unknown) => e instanceof ApplicationError && e.message === "monitoring application 'scripted': did not load within 1 s");
  });
});

describe('an app given as a class (embedded mode) runs in this process', () => {
  class Scripted extends MonitoringApplication {
    async doTracking(ctx: MonitoringApplicationContext): Promise<{ name: string; value: number }[]> {
      if (ctx.options.mode === 'hang') return new Promise(() => undefined);
      if (ctx.options.mode === 'throw') throw new Error('scripted failure');
      if (ctx.options.mode === 'invalid') return [{ name: 'value', value: Number.NaN }];
      return [{ name: 'thread', value: threadId }];
    }
  }
  const host = inProcessHost(new Scripted(), { appName: 'scripted', artifactPath: tmp, logger, limits: { timeoutSeconds: 1, memoryLimitMb: 64 } });

  test('on this thread, with a deadline that stops waiting for an asynchronous run', async () => {
    assert.equal(host.isolation, 'in-process');
    assert.equal(metric(await host.run(window(0, { mode: 'ok' }), noTrainingSets), 'thread'), threadId);
    assert.match(failed(await host.run(window(1, { mode: 'hang' }), noTrainingSets)), /^timed out after 1 s \(its timeoutSeconds\); given as a class, it runs in this process/);
    assert.equal(failed(await host.run(window(2, { mode: 'throw' }), noTrainingSets)), 'threw: scripted failure');
    assert.equal(failed(await host.run(window(3, { mode: 'invalid' }), noTrainingSets)), "returned invalid output: metric 'value' has value NaN; a finite number is needed");
  });
});
