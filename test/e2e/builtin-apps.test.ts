import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connect, ManualClock, Modelwatch, ResultStatus, type Project, type ServingFunction } from '../../src/index.ts';
import { startServer } from '../server/helpers.ts';
import { rng, tempHome } from './helpers.ts';

/*
 * The built-in data-drift-report app, registered by name (not by module file) through the SDK and
 * through the REST client, runs per window: one result per column (measures in extra data) and
 * dataset_drift.
 */
const PERIOD = 10 * 60_000;
let mw: Modelwatch;
let project: Project;
let fn: ServingFunction;
let clock: ManualClock;
let cleanup: () => void;
const r = rng(11);

class Linear {
  predict(rows: number[][]): number[] {
    return rows.map((x) => (x[0] ?? 0) + (x[1] ?? 0));
  }
}

before(async () => {
  const t = tempHome();
  cleanup = t.cleanup;
  clock = new ManualClock(Date.UTC(2026, 5, 1));
  mw = await Modelwatch.open({ home: t.home, clock, background: false });
  project = await mw.createProject('builtin');
  const training = Array.from({ length: 3000 }, () => ({ a: r.normal(0, 1), b: r.normal(10, 3), y: 0 })).map((row) => ({ ...row, y: row.a + row.b }));
  const model = await project.logModel('m', { model: {}, trainingSet: training, labelColumn: 'y' });
  await project.enableModelMonitoring({ basePeriod: 10, deployHistogramDataDriftApp: false });
  await project.setModelMonitoringFunction({ name: 'drift-report', application: 'data-drift-report', options: { columnThresholds: { b: 0.5 } } });
  await project.deployFunction('drift-report');
  fn = await project.setFunction('serving', { kind: 'serving' });
  fn.addModel('m', { model: Linear, modelUri: model.uri });
  fn.setTracking();
  await project.deployFunction(fn);
});

after(async () => {
  await mw?.close();
  cleanup?.();
});

test('registered by name, the report app runs per window with per-column results and dataset_drift', async () => {
  const f = await project.getFunction('drift-report');
  assert.deepEqual(f.spec, { builtin: 'data-drift-report', options: { columnThresholds: { b: 0.5 } } });
  const start = clock.now();
  for (let i = 0; i < 300; i++) {
    await fn.invoke('/v2/models/m/infer', { inputs: [[r.normal(2, 1), r.normal(11, 3)]] }); // a moves by 2 sd, b by 1/3 sd
    clock.advance(Math.floor(PERIOD / 300));
  }
  clock.set(start + PERIOD + 61_000);
  await mw.runUntilIdle();

  const results = await project.listResults({ app: 'drift-report' });
  const byName = new Map(results.map((x) => [x.name, x]));
  assert.deepEqual([...byName.keys()].sort(), ['a', 'b', 'dataset_drift', 'y'], 'features, the prediction (compared with the label column) and the dataset');
  const a = byName.get('a')!;
  assert.equal(a.extraData?.method, 'wasserstein', 'reference of 3000 rows (the kept training set): normed Wasserstein on the rows');
  assert.equal(a.extraData?.column, 'a');
  assert.equal(a.status, ResultStatus.detected);
  assert.ok(a.value >= 0.1, `a: ${a.value}`);
  const b = byName.get('b')!;
  assert.equal(b.extraData?.threshold, 0.5, 'the per-column threshold option reached the app');
  assert.equal(b.status, ResultStatus.no_detection, `b: ${b.value}`);
  const ds = byName.get('dataset_drift')!;
  const y = byName.get('y')!;
  assert.equal(y.status, ResultStatus.detected, `the prediction a + b moves by about 1 sd: ${y.value}`);
  assert.equal(ds.value, 2 / 3);
  assert.equal(ds.status, ResultStatus.detected, 'two of three columns drifted: share 2/3 reaches the default 0.5');
  assert.equal(ds.extraData?.reference, 'store://models/builtin/m:latest');
  assert.equal(ds.extraData?.referenceRows, 3000);
});

test('the REST client registers the built-in by name too, and a className on a built-in is refused', async () => {
  const { app, url } = await startServer(mw.platform);
  try {
    const remote = await connect({ url }).getProject('builtin');
    await remote.setModelMonitoringFunction({ name: 'report-2', application: 'data-drift-report' });
    const rec = await remote.getFunction('report-2');
    assert.equal((rec.spec as { builtin?: string }).builtin, 'data-drift-report');
    await assert.rejects(project.setModelMonitoringFunction({ name: 'x', application: 'data-drift-report', className: 'Nope' }), /takes no className/);
  } finally {
    await app.close();
  }
});
