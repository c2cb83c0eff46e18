import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ManualClock } from '../common/clock.ts';
import { ApplicationError } from '../common/errors.ts';
import type { EndpointRecord } from '../common/types.ts';
import { HistogramAccumulator } from '../pipeline/stream-processor/histogram-accumulator.ts';
import { Platform } from '../project/platform.ts';
import type { PredictionRow, Tsdb } from '../store/tsdb-port.ts';
import { computeFeatureStats } from '../stats/feature-stats.ts';
import { tempHome } from '../../test/e2e/helpers.ts';
import { buildContext, type BuildContextInput } from './context-builder.ts';
import { HistogramDataDriftApplication } from './histogram-data-drift.ts';

const T0 = Date.UTC(2026, 4, 1);
const PERIOD = 600_000;
let platform: Platform;
let tsdb: Tsdb;
let cleanup: () => void;
const reference = computeFeatureStats({ x: Array.from({ length: 100 }, (_, i) => i / 10) });
const ep = (id: string): EndpointRecord => ({
  project: 'ctx', id, name: id, function: 'svc', model: id, modelVersion: '', modelUri: '', tag: 'latest', featureNames: ['x'], labelNames: [],
  featureStats: reference, currentStats: {}, firstRequest: T0, lastRequest: T0, errorCount: 0, driftStatus: 'unknown', driftMeasures: {},
  monitoringMode: 'enabled', labels: {}, metrics: { predictions5m: 0, predictions1h: 0, latencyAvg5mUs: null, latencyAvg1hUs: null, predictionsPerSecond: 0 },
  latePredictions: 0, createdAt: T0, updatedAt: T0,
});

async function ingest(e: EndpointRecord, histogramPeriod: number): Promise<void> {
  const hist = new HistogramAccumulator('ctx', histogramPeriod);
  const predictions: PredictionRow[] = [];
  for (let i = 0; i < 30; i++) {
    const row = { project: 'ctx', endpointId: e.id, time: T0 + i * 1000, latencyUs: 1, requestId: `r${i}`, rowIndex: 0, features: [i % 10], outputs: [], labels: null };
    predictions.push(row);
    hist.add(e.id, row.time, e, row.features, row.outputs);
  }
  await tsdb.writeIngestBatch({ predictions, errors: [], histograms: hist.rows() });
}

function input(e: EndpointRecord, withSample: boolean): BuildContextInput {
  return { appName: 'app', endpoint: e, windowStart: T0, windowEnd: T0 + PERIOD, tsdb, artifactPath: platform.options.artifactPath, logger: platform.logger, options: {}, withSample };
}

before(async () => {
  const t = tempHome('mw-ctx-');
  cleanup = t.cleanup;
  platform = await Platform.open({ home: t.home, clock: new ManualClock(T0) });
  tsdb = await platform.tsdbFor('ctx');
});

after(async () => {
  await platform.close();
  cleanup();
});

test('an app that does not use the sample is analyzed from the ingest histograms without reading rows', async () => {
  const e = ep('hist');
  await ingest(e, PERIOD);
  const full = await buildContext(input(e, true));
  const lean = await buildContext(input(e, false));
  assert.deepEqual(lean.sampleStats, full.sampleStats, 'the same window stats either way');
  assert.equal(full.sample.rowCount, 30);
  assert.throws(() => lean.sample, (err: unknown) => err instanceof ApplicationError && /usesSample/.test(err.message));
  assert.equal(new HistogramDataDriftApplication().usesSample, false);
  const out = new HistogramDataDriftApplication().doTracking(lean);
  assert.ok(Array.isArray(out) && out.some((r) => r.name === 'general_drift'));
});

test('without matching histograms the rows are read, and the sample comes with them', async () => {
  const e = ep('other-period');
  // Histograms kept on a 5-minute grid do not match the 10-minute window: the rows are binned.
  await ingest(e, PERIOD / 2);
  const ctx = await buildContext(input(e, false));
  assert.equal(ctx.sample.rowCount, 30);
  assert.equal(ctx.sampleStats.x?.count, 30);
  assert.deepEqual(ctx.sampleStats.x?.hist?.edges, reference.x?.hist?.edges);
});

test('histograms counted before values at the maximum were (atMax null) are not used: the rows are binned by the current rule', async () => {
  const e = ep('legacy');
  await ingest(e, PERIOD);
  const stored = await tsdb.readWindowHistograms('ctx', e.id, T0, T0 + PERIOD);
  assert.equal(stored[0]?.atMax, 0);
  // A later batch of the same window as a row of the old schema would read: its atMax unknown.
  await tsdb.writeIngestBatch({ predictions: [], errors: [], histograms: stored.map((h) => ({ ...h, counts: h.counts.map(() => 0), count: 0, missing: 0, sum: 0, sumSq: 0, atMax: null })) });
  const ctx = await buildContext(input(e, false));
  assert.equal(ctx.sample.rowCount, 30, 'the rows were read');
  assert.equal(ctx.sampleStats.x?.hist?.atMax, 0);
  assert.deepEqual(ctx.sampleStats.x?.hist?.counts, stored[0]?.counts);
});

test('a categorical feature: the same window stats from the ingest counts as from the rows', async () => {
  const featureStats = computeFeatureStats({ origin: ['USA', 'Japan', 'USA', 'Europe'], cyl: [4, 6, 8, 8] });
  const e = { ...ep('cat'), featureNames: ['origin', 'cyl'], featureStats };
  const hist = new HistogramAccumulator('ctx', PERIOD);
  const values = [['USA', 8], ['Mars', 8], [null, 4], ['Japan', 'x'], ['USA', 6]];
  const predictions: PredictionRow[] = values.map((features, i) => ({ project: 'ctx', endpointId: e.id, time: T0 + i, latencyUs: 1, requestId: `c${i}`, rowIndex: 0, features, outputs: [], labels: null }));
  for (const p of predictions) hist.add(e.id, p.time, e, p.features, p.outputs);
  await tsdb.writeIngestBatch({ predictions, errors: [], histograms: hist.rows() });
  const fromIngest = (await buildContext(input(e, false))).sampleStats;
  assert.deepEqual(fromIngest.origin, { count: 4, missing: 1, categories: { USA: 2, Japan: 1, Europe: 0 }, other: 1 });
  assert.deepEqual(fromIngest.cyl?.hist?.atMax, 2);
  // The same window on another grid is binned from its rows.
  const fromRows = (await buildContext({ ...input(e, true), windowEnd: T0 + PERIOD / 2 })).sampleStats;
  assert.deepEqual(fromRows.origin, fromIngest.origin);
  assert.deepEqual(fromRows.cyl?.hist, fromIngest.cyl?.hist);
});
