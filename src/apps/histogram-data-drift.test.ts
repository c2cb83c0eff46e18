import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from '../common/errors.ts';
import { ResultStatus, type AppMetric, type AppResult, type FeatureStatsMap } from '../common/types.ts';
import { computeFeatureStats, currentStatsOnReference } from '../stats/feature-stats.ts';
import type { MonitoringApplicationContext } from './context.ts';
import { HistogramDataDriftApplication, resolveHistogramDataDriftOptions, windowRows } from './histogram-data-drift.ts';
import { DEFAULT_MIN_SAMPLES } from './min-samples.ts';
import { normalizeOutput } from './results.ts';

const training = {
  cylinders: Array.from({ length: 200 }, (_, i) => [4, 4, 6, 8][i % 4]),
  origin: Array.from({ length: 200 }, (_, i) => ['USA', 'USA', 'Japan', 'Europe', 'USA'][i % 5]),
  weight: Array.from({ length: 200 }, (_, i) => 1500 + 13 * i),
};
const reference = computeFeatureStats({ ...training, unused: Array.from({ length: 200 }, () => null) });

/** What the app reads of a context: the window's stats, the reference and the options. */
function context(columns: Record<string, unknown[]>, options: Record<string, unknown> = {}): MonitoringApplicationContext {
  const sampleStats = currentStatsOnReference(reference, columns);
  return { applicationName: 'histogram-data-drift', sampleStats, featureStats: reference, options } as unknown as MonitoringApplicationContext;
}

function run(app: HistogramDataDriftApplication, ctx: MonitoringApplicationContext): { general: AppResult; metrics: AppMetric[] } {
  const out = normalizeOutput('histogram-data-drift', app.doTracking(ctx) as never);
  const general = out.results.find((r) => r.name === 'general_drift');
  assert.ok(general);
  return { general, metrics: out.metrics };
}

/** `n` rows like the training set. */
function like(n: number): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const [k, v] of Object.entries(training)) out[k] = Array.from({ length: n }, (_, i) => v[i % v.length]);
  return out;
}

test('options: defaults, and a clear error for each bad one', () => {
  assert.deepEqual(resolveHistogramDataDriftOptions(undefined), { potentialThreshold: 0.5, detectedThreshold: 0.7, binning: 'reference', minSamples: DEFAULT_MIN_SAMPLES });
  assert.deepEqual(resolveHistogramDataDriftOptions({ binning: 'mlrun', minSamples: 0, detectedThreshold: 0.6 }), { potentialThreshold: 0.5, detectedThreshold: 0.6, binning: 'mlrun', minSamples: 0 });
  const bad: [unknown, RegExp][] = [
    [{ binning: 'numpy' }, /binning must be 'reference' or 'mlrun', got "numpy"/],
    [{ binning: 1 }, /binning/],
    [{ minSamples: -1 }, /minSamples must be a whole number >= 0, got -1/],
    [{ minSamples: 2.5 }, /minSamples/],
    [{ minSamples: '50' }, /minSamples must be a whole number >= 0, got "50"/],
    [{ minSample: 10 }, /no option 'minSample'; its options are potentialThreshold, detectedThreshold, binning, minSamples/],
    [{ potentialThreshold: 0.8 }, /potentialThreshold <= detectedThreshold/],
    [[1], /must be an object/],
  ];
  for (const [opts, message] of bad) {
    assert.throws(() => resolveHistogramDataDriftOptions(opts), (err: unknown) => err instanceof ValidationError && message.test(err.message), JSON.stringify(opts));
  }
  assert.throws(() => new HistogramDataDriftApplication({ binning: 'numpy' }), ValidationError, 'the app refuses them when it is made');
});

test('a window like the training set: no drift, every feature compared, numeric, integer and categorical', () => {
  const { general, metrics } = run(new HistogramDataDriftApplication(), context(like(200)));
  assert.equal(general.status, ResultStatus.no_detection);
  assert.equal(general.value, 0);
  assert.deepEqual(Object.keys(general.extraData?.features as object), ['cylinders', 'origin', 'weight']);
  assert.deepEqual(general.extraData?.skipped, { unused: 'no values in the reference' });
  assert.equal(general.extraData?.binning, 'reference');
  assert.equal(general.extraData?.rows, 200);
  assert.deepEqual(metrics.map((m) => [m.name, m.value]), [['hellinger_mean', 0], ['kld_mean', 0], ['tvd_mean', 0]]);
});

test("binning 'mlrun' gives the peer's numbers: the integer feature at its maximum drifts, the categorical one is left out", () => {
  const { general } = run(new HistogramDataDriftApplication({ binning: 'mlrun' }), context(like(200)));
  const features = general.extraData?.features as Record<string, { tvd: number }>;
  assert.deepEqual(Object.keys(features), ['cylinders', 'weight']);
  assert.equal(features.cylinders?.tvd, 0.25, 'the quarter of the rows at 8 move to the upper padding bin');
  assert.ok((features.weight?.tvd ?? 0) > 0, 'one row at the maximum weight');
  assert.equal((general.extraData?.skipped as Record<string, string>).origin, 'categorical: not compared under binning mlrun');
});

test('a window shifted to one category is detected through the categorical feature', () => {
  const shifted = like(100);
  shifted.origin = shifted.origin!.map(() => 'USA');
  const ctx = context(shifted, { detectedThreshold: 0.1, potentialThreshold: 0.05 });
  const { general } = run(new HistogramDataDriftApplication(), ctx);
  const features = general.extraData?.features as Record<string, { tvd: number }>;
  assert.ok(close(features.origin?.tvd ?? 0, 0.4), `TVD of (1, 0, 0) against (0.6, 0.2, 0.2): ${features.origin?.tvd}`);
  assert.equal(features.cylinders?.tvd, 0);
  assert.equal(general.status, ResultStatus.detected, 'options given by the context reach the app');
  const stats = (general.extraData?.currentStats as FeatureStatsMap).origin;
  assert.deepEqual(stats, { count: 100, missing: 0, categories: { USA: 100, Japan: 0, Europe: 0 }, other: 0 });
});

test('fewer rows than minSamples: general_drift irrelevant, saying why, and no measures', () => {
  const app = new HistogramDataDriftApplication();
  const one = run(app, context(like(1)));
  assert.equal(one.general.status, ResultStatus.irrelevant);
  assert.equal(one.general.value, 0);
  assert.equal(one.general.extraData?.message, 'the window holds 1 row, fewer than minSamples (50): too few to judge drift');
  assert.equal(one.general.extraData?.rows, 1);
  assert.equal(one.general.extraData?.minSamples, 50);
  assert.deepEqual(one.metrics, []);
  assert.equal(run(app, context(like(49))).general.status, ResultStatus.irrelevant);
  const fifty = run(app, context(like(50))).general;
  assert.notEqual(fifty.status, ResultStatus.irrelevant, 'minSamples rows are enough');
  assert.equal(Object.keys(fifty.extraData?.features as object).length, 3);
  assert.notEqual(run(new HistogramDataDriftApplication({ minSamples: 1 }), context(like(1))).general.status, ResultStatus.irrelevant);
});

test('rows are counted with missing values: a window whose values are all missing is not "too small", but nothing can be compared', () => {
  const missing = { cylinders: Array.from({ length: 60 }, () => null), origin: Array.from({ length: 60 }, () => ''), weight: Array.from({ length: 60 }, () => 'n/a') };
  assert.equal(windowRows(currentStatsOnReference(reference, missing)), 60);
  const { general } = run(new HistogramDataDriftApplication(), context(missing));
  assert.equal(general.status, ResultStatus.irrelevant);
  assert.match(String(general.extraData?.message), /no feature could be compared/);
  assert.deepEqual(general.extraData?.skipped, {
    cylinders: 'no values in the window',
    origin: 'no values in the window',
    weight: 'no values in the window',
    unused: 'no values in the reference',
  });
});

function close(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-12;
}
