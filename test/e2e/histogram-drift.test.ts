import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ManualClock, Modelwatch, ResultStatus, ValidationError, type Project, type ServingFunction } from '../../src/index.ts';
import type { FeatureStatsMap } from '../../src/common/types.ts';
import { rng, tempHome } from './helpers.ts';

/*
 * The built-in histogram-data-drift app through the real pipeline (embedded mode): serving with
 * tracking, the stream processor counting each window at ingest, the controller, the app and the
 * writer. A training set with an integer feature a quarter at its maximum, a continuous one and a
 * string one: traffic identical to it gives 0, a window whose string feature shifts to one category
 * is detected through that feature, and a window of one row is irrelevant and leaves the
 * endpoint's drift status as it was.
 */
const PERIOD = 10 * 60_000;
const T0 = Date.UTC(2026, 6, 1);
const r = rng(22);
let mw: Modelwatch;
let project: Project;
let fn: ServingFunction;
let clock: ManualClock;
let cleanup: () => void;

/** Horsepower-like output: the training set's label is computed the same way, so identical rows give identical outputs. */
class Power {
  predict(rows: unknown[][]): number[] {
    return rows.map((x) => (x[1] as number) / 20);
  }
}

const training = Array.from({ length: 240 }, (_, i) => {
  const weight = Math.round(1800 + 1500 * r.uniform());
  return { cylinders: [4, 4, 6, 8][i % 4]!, weight, origin: ['USA', 'Japan', 'Europe', 'Japan', 'Europe'][i % 5]!, hp: weight / 20 };
});
const rows = (origin?: string): unknown[][] => training.map((t) => [t.cylinders, t.weight, origin ?? t.origin]);

before(async () => {
  const t = tempHome();
  cleanup = t.cleanup;
  clock = new ManualClock(T0);
  mw = await Modelwatch.open({ home: t.home, clock, background: false });
  project = await mw.createProject('hist');
  const model = await project.logModel('cars', { model: {}, trainingSet: training, labelColumn: 'hp' });
  assert.deepEqual(model.featureStats.origin?.categories, { USA: 48, Japan: 96, Europe: 96 });
  assert.ok(model.featureStats.cylinders?.hist, 'the integer feature is numeric');

  // Bad options fail at once, before anything is deployed.
  await assert.rejects(project.enableModelMonitoring({ basePeriod: 10, histogramDataDriftOptions: { binning: 'numpy' } }), (e: Error) => e instanceof ValidationError && /binning must be 'reference' or 'mlrun'/.test(e.message));
  await assert.rejects(project.enableModelMonitoring({ basePeriod: 10, histogramDataDriftOptions: { minSamples: -5 } }), (e: Error) => e instanceof ValidationError && /minSamples/.test(e.message));
  assert.equal((await project.record()).monitoring?.enabled ?? false, false);

  await project.enableModelMonitoring({ basePeriod: 10, histogramDataDriftOptions: { potentialThreshold: 0.1, detectedThreshold: 0.15 } });
  await assert.rejects(
    project.setModelMonitoringFunction({ name: 'drift-mlrun', application: 'histogram-data-drift', options: { binning: 'mlrun', minSamples: 'many' } }),
    (e: Error) => e instanceof ValidationError && /minSamples must be a whole number/.test(e.message),
  );
  await project.setModelMonitoringFunction({ name: 'drift-mlrun', application: 'histogram-data-drift', options: { binning: 'mlrun' } });
  await project.deployFunction('drift-mlrun');
  fn = await project.setFunction('serving', { kind: 'serving' });
  fn.addModel('cars', { model: Power, modelUri: model.uri });
  fn.setTracking();
  await project.deployFunction(fn);
});

after(async () => {
  await mw?.close();
  cleanup?.();
});

/** Sends `data` in requests of up to 20 rows across the window starting at `start`, then closes the window. */
async function sendWindow(start: number, data: unknown[][]): Promise<void> {
  clock.set(start);
  const requests = Math.ceil(data.length / 20);
  for (let i = 0; i < requests; i++) {
    await fn.invoke('/v2/models/cars/infer', { inputs: data.slice(i * 20, i * 20 + 20) });
    clock.advance(Math.floor(PERIOD / requests) - 1);
  }
  clock.set(start + PERIOD + 61_000);
  await mw.runUntilIdle();
}

/** The one endpoint, with its window stats. */
async function endpoint() {
  const [summary] = await project.listModelEndpoints();
  assert.ok(summary);
  return project.getModelEndpoint(summary.id);
}

async function generalDrift(app: string, windowStart: number) {
  const [res] = await project.listResults({ app, name: 'general_drift', start: windowStart, end: windowStart + 1 });
  assert.ok(res, `${app} analyzed the window at ${new Date(windowStart).toISOString()}`);
  return res;
}

test('traffic identical to the training set gives 0 for every feature, the integer at its maximum and the string one included', async () => {
  await sendWindow(T0, rows());
  const res = await generalDrift('histogram-data-drift', T0);
  assert.equal(res.value, 0);
  assert.equal(res.status, ResultStatus.no_detection);
  const features = res.extraData.features as Record<string, { tvd: number; hellinger: number; kld: number }>;
  assert.deepEqual(Object.keys(features).sort(), ['cylinders', 'hp', 'origin', 'weight']);
  for (const [name, m] of Object.entries(features)) assert.deepEqual(m, { tvd: 0, hellinger: 0, kld: 0 }, name);
  const stats = res.extraData.currentStats as FeatureStatsMap;
  assert.deepEqual(stats.origin, { count: 240, missing: 0, categories: { USA: 48, Japan: 96, Europe: 96 }, other: 0 }, 'counted at ingest');
  assert.equal(stats.cylinders?.hist?.atMax, 60);
  const ep = await endpoint();
  const kept = await (await mw.platform.tsdbFor('hist')).readWindowHistograms('hist', ep.id, T0, T0 + PERIOD);
  assert.deepEqual(kept.find((h) => h.feature === 'origin')?.categories, { USA: 48, Japan: 96, Europe: 96 }, 'the stream processor kept the category counts');
  assert.equal(kept.find((h) => h.feature === 'cylinders')?.atMax, 60);

  // The peer's rule on the same window: the quarter of the rows at the maximum moves to the padding bin; no categorical feature.
  const peer = await generalDrift('drift-mlrun', T0);
  const peerFeatures = peer.extraData.features as Record<string, { tvd: number }>;
  assert.deepEqual(Object.keys(peerFeatures).sort(), ['cylinders', 'hp', 'weight']);
  assert.equal(peerFeatures.cylinders?.tvd, 0.25);
  assert.equal((peer.extraData.skipped as Record<string, string>).origin, 'categorical: not compared under binning mlrun');
  assert.ok(peer.value > 0);
});

test('a window whose string feature shifted to one category is detected, through that feature', async () => {
  await sendWindow(T0 + 2 * PERIOD, rows('USA'));
  const res = await generalDrift('histogram-data-drift', T0 + 2 * PERIOD);
  const features = res.extraData.features as Record<string, { tvd: number; hellinger: number }>;
  assert.ok(Math.abs((features.origin?.tvd ?? 0) - 0.8) < 1e-12, `origin TVD ${features.origin?.tvd}: 80% of the rows moved to USA`);
  for (const f of ['cylinders', 'weight', 'hp']) assert.equal(features[f]?.tvd, 0, f);
  assert.equal(res.status, ResultStatus.detected, `general_drift ${res.value} against the configured 0.15`);
  const ep = await endpoint();
  assert.equal(ep.driftStatus, 'detected');
  assert.deepEqual(ep.currentStats.origin?.categories, { USA: 240, Japan: 0, Europe: 0 });
  const events = await project.listEvents({ endpointId: ep.id });
  assert.ok(events.some((e) => e.kind === 'data-drift-detected' && e.windowStart === T0 + 2 * PERIOD && e.app === 'histogram-data-drift'));
});

test('a window of one row is irrelevant, says why, and leaves the drift status and measures as they were', async () => {
  const before = await endpoint();
  const eventsBefore = (await project.listEvents({ endpointId: before.id })).length;
  await sendWindow(T0 + 4 * PERIOD, [[8, 3000, 'Japan']]);
  const res = await generalDrift('histogram-data-drift', T0 + 4 * PERIOD);
  assert.equal(res.status, ResultStatus.irrelevant);
  assert.equal(res.extraData.message, 'the window holds 1 row, fewer than minSamples (50): too few to judge drift');
  assert.deepEqual(await project.listMetrics({ app: 'histogram-data-drift', start: T0 + 4 * PERIOD }), [], 'no measures for a window too small');
  const ep = await endpoint();
  assert.equal(ep.driftStatus, 'detected');
  assert.deepEqual(ep.driftMeasures, before.driftMeasures);
  assert.deepEqual(ep.currentStats, before.currentStats);
  const events = await project.listEvents({ endpointId: ep.id });
  assert.equal(events.length, eventsBefore, 'no event for the irrelevant window');
});
