import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { ManualClock } from '../common/clock.ts';
import { ValidationError } from '../common/errors.ts';
import { Modelwatch } from '../project/modelwatch.ts';
import { PERIOD, publishWindows, trainingSet } from '../../test/e2e/misbehaving-apps.ts';
import { DEFAULT_RUN_LIMITS, appOptions, runLimits } from './run-limits.ts';

const APPS = fileURLToPath(new URL('../../test/fixtures/apps/misbehaving-apps.ts', import.meta.url));
const homes: string[] = [];
after(() => homes.forEach((h) => fs.rmSync(h, { recursive: true, force: true })));

test('run limits: defaults, the values taken, and the ones refused with what is wrong', () => {
  assert.deepEqual(runLimits(undefined), DEFAULT_RUN_LIMITS);
  assert.deepEqual(runLimits({ threshold: 1 }), { timeoutSeconds: 60, memoryLimitMb: 512 });
  assert.deepEqual(runLimits({ timeoutSeconds: 0.5, memoryLimitMb: 32 }), { timeoutSeconds: 0.5, memoryLimitMb: 32 });
  assert.deepEqual(runLimits({ timeoutSeconds: 86_400, memoryLimitMb: 65_536 }), { timeoutSeconds: 86_400, memoryLimitMb: 65_536 });
  assert.deepEqual(runLimits({ timeoutSeconds: null, memoryLimitMb: null }), DEFAULT_RUN_LIMITS, 'null (JSON for unset) is the default');
  for (const timeoutSeconds of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 86_401, '10', true, {}]) {
    assert.throws(() => runLimits({ timeoutSeconds }), (e: unknown) => e instanceof ValidationError && /^option timeoutSeconds must be a number of seconds above 0 and at most 86400, got /.test(e.message), String(timeoutSeconds));
  }
  for (const memoryLimitMb of [0, 31, 1.5, 65_537, '512', false, Number.NaN]) {
    assert.throws(() => runLimits({ memoryLimitMb }), (e: unknown) => e instanceof ValidationError && /^option memoryLimitMb must be a whole number of megabytes from 32 to 65536, got /.test(e.message), String(memoryLimitMb));
  }
  assert.deepEqual(appOptions({ threshold: 0.4, timeoutSeconds: 5, memoryLimitMb: 64 }), { threshold: 0.4 });
});

test('registration refuses bad run limits for every kind of app, and the built-in drift app takes good ones', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-run-limits-'));
  homes.push(home);
  const mw = await Modelwatch.open({ home, background: false, logger: pino({ level: 'silent' }) });
  try {
    const project = await mw.createProject('limits');
    const refused = (e: unknown): boolean => e instanceof ValidationError && /timeoutSeconds|memoryLimitMb/.test(e.message);
    await assert.rejects(project.setModelMonitoringFunction({ name: 'a', application: APPS, className: 'GoodApp', options: { timeoutSeconds: 0 } }), refused);
    await assert.rejects(project.setModelMonitoringFunction({ name: 'b', application: 'data-drift-report', options: { memoryLimitMb: 8 } }), refused);
    await assert.rejects(project.setModelMonitoringFunction({ name: 'c', application: 'histogram-data-drift', options: { timeoutSeconds: 'soon' } }), refused);
    await assert.rejects(project.enableModelMonitoring({ basePeriod: 10, histogramDataDriftOptions: { memoryLimitMb: 1e9 } }), refused);
    assert.deepEqual((await project.listModelMonitoringFunctions()).map((f) => f.name), [], 'nothing was registered');
    await project.enableModelMonitoring({ basePeriod: 10, histogramDataDriftOptions: { timeoutSeconds: 120, memoryLimitMb: 256, minSamples: 10 } });
    const drift = await project.getFunction('histogram-data-drift');
    assert.deepEqual(drift.status.state, 'running', 'the built-in app took its run limits beside its own options');
  } finally {
    await mw.close();
  }
});

test('the runner applies an app\'s run limits, and the app never sees them among its options', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-run-limits-'));
  homes.push(home);
  const base = Date.UTC(2026, 4, 1, 12, 0);
  const clock = new ManualClock(base + 2 * PERIOD);
  const mw = await Modelwatch.open({ home, clock, background: false, logger: pino({ level: 'silent' }) });
  try {
    const project = await mw.createProject('limits');
    const model = await project.logModel('linear', { model: { weights: [1, 0.5] }, trainingSet: trainingSet(), labelColumn: 'y' });
    await project.enableModelMonitoring({ basePeriod: 1, graceSeconds: 5, deployHistogramDataDriftApp: false });
    await project.setModelMonitoringFunction({ name: 'sees', application: APPS, className: 'ScriptedApp', options: { mode: 'options', threshold: 0.4, timeoutSeconds: 30, memoryLimitMb: 100 } });
    await project.deployFunction('sees');
    await project.setModelMonitoringFunction({ name: 'loops', application: APPS, className: 'ScriptedApp', options: { mode: 'loop', timeoutSeconds: 1 } });
    await project.deployFunction('loops');
    await publishWindows(await mw.platform.streamFor('limits'), 'limits', model.uri, { endpoints: 1, windows: 1, rowsPerWindow: 10, loopTimeoutSeconds: 1, loopRedeployTimeoutSeconds: 1, leakLimitMb: 64, leakMbPerRun: 1 }, base);
    await mw.runUntilIdle();
    clock.advance(PERIOD);
    await mw.runUntilIdle();
    const metrics = await project.listMetrics({ app: 'sees' });
    assert.deepEqual(Object.fromEntries(metrics.map((m) => [m.name, m.value])), { sees_limits: 0, threshold: 0.4 });
    const events = await project.listEvents({ kind: 'mm-app-failed' });
    assert.deepEqual(events.map((e) => [e.app, e.windowStart, e.message]), [['loops', base, 'timed out after 1 s (its timeoutSeconds); the run was stopped']]);
  } finally {
    await mw.close();
  }
});
