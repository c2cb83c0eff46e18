/**
 * Setup of the `controller` benchmark (not timed): a project with monitoring enabled and the
 * built-in histogram-data-drift app deployed, `endpoints` model endpoints whose models have
 * `features` numeric features plus one output with reference stats, and one closed window of
 * `rows` predictions per endpoint written through the tsdb ingest API together with the
 * per-window histograms the stream processor keeps.
 */
import { endpointId } from '../../src/common/ids.ts';
import { HISTOGRAM_DRIFT_APP } from '../../src/common/names.ts';
import type { EndpointRecord, FeatureStatsMap } from '../../src/common/types.ts';
import { HistogramAccumulator } from '../../src/pipeline/stream-processor/histogram-accumulator.ts';
import type { Platform } from '../../src/project/platform.ts';
import type { PredictionRow } from '../../src/store/tsdb-port.ts';
import { computeFeatureStats } from '../../src/stats/feature-stats.ts';
import { rng } from '../../test/e2e/helpers.ts';
import { createMonitoredProject } from './bench-project.ts';

/** Shape of the fixture. */
export interface ControllerFixtureOptions {
  project: string;
  endpoints: number;
  features: number;
  rows: number;
  basePeriodMinutes: number;
  /** Start of the window that holds the traffic (on the base-period grid). */
  windowStart: number;
  /** Endpoints per ingest batch. @default 10 */
  endpointsPerBatch?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** Distinct reference datasets; endpoint i uses reference i mod this. */
const REFERENCES = 10;
const REFERENCE_ROWS = 2000;

/** Builds the fixture; returns the endpoint ids. */
export async function buildControllerFixture(platform: Platform, o: ControllerFixtureOptions): Promise<string[]> {
  const { store } = platform;
  const now = platform.clock.now();
  const periodMs = o.basePeriodMinutes * 60_000;
  await createMonitoredProject(store, { name: o.project, description: 'controller benchmark', now, maxWindowsPerTick: 12, basePeriodMinutes: o.basePeriodMinutes });
  await store.putFunction({
    project: o.project,
    name: HISTOGRAM_DRIFT_APP,
    kind: 'monitoring-application',
    spec: { builtin: HISTOGRAM_DRIFT_APP, options: {} },
    labels: { 'mw-type': 'monitoring-application', 'mw-builtin': 'true' },
    deployed: true,
    status: { state: 'running' },
    createdAt: now,
    updatedAt: now,
  });

  const featureNames = Array.from({ length: o.features }, (_, k) => `feature_${k}`);
  const labelNames = ['prediction'];
  const references: FeatureStatsMap[] = [];
  for (let r = 0; r < REFERENCES; r++) {
    const g = rng(1000 + r);
    const cols: Record<string, number[]> = {};
    featureNames.forEach((f, k) => (cols[f] = Array.from({ length: REFERENCE_ROWS }, () => round4(g.normal(k, 1 + (k % 3))))));
    cols[labelNames[0]!] = Array.from({ length: REFERENCE_ROWS }, () => (g.uniform() < 0.4 ? 1 : 0));
    references.push(computeFeatureStats(cols));
  }

  const ids: string[] = [];
  const endpoints: EndpointRecord[] = [];
  for (let i = 0; i < o.endpoints; i++) {
    const model = `model-${String(i).padStart(4, '0')}`;
    const featureStats = references[i % REFERENCES]!;
    await store.putModel({
      project: o.project,
      key: model,
      tag: 'latest',
      uri: `store://models/${o.project}/${model}:latest`,
      modelFile: null,
      className: null,
      featureNames,
      labelNames,
      featureStats,
      labels: {},
      createdAt: now,
    });
    const id = endpointId({ project: o.project, function: 'serving', model });
    ids.push(id);
    const ep: EndpointRecord = {
      project: o.project,
      id,
      name: model,
      function: 'serving',
      model,
      modelVersion: '',
      modelUri: `store://models/${o.project}/${model}:latest`,
      tag: 'latest',
      featureNames,
      labelNames,
      featureStats,
      currentStats: {},
      firstRequest: o.windowStart,
      lastRequest: o.windowStart + periodMs - 1,
      errorCount: 0,
      driftStatus: 'unknown',
      driftMeasures: {},
      monitoringMode: 'enabled',
      labels: {},
      metrics: { predictions5m: 0, predictions1h: 0, latencyAvg5mUs: null, latencyAvg1hUs: null, predictionsPerSecond: 0 },
      latePredictions: 0,
      createdAt: now,
      updatedAt: now,
    };
    await store.createEndpointIfMissing(ep);
    endpoints.push(ep);
  }
  o.log?.(`${o.endpoints} models and endpoints stored`);

  const tsdb = await platform.tsdbFor(o.project);
  const perBatch = o.endpointsPerBatch ?? 10;
  const t0 = performance.now();
  for (let b = 0; b < endpoints.length; b += perBatch) {
    const hist = new HistogramAccumulator(o.project, periodMs);
    const predictions: PredictionRow[] = [];
    for (let i = b; i < Math.min(endpoints.length, b + perBatch); i++) {
      const ep = endpoints[i]!;
      const g = rng(50_000 + i);
      // A third of the endpoints drift: their features move by one or three standard deviations.
      const shift = i % 6 === 0 ? 3 : i % 6 === 3 ? 1 : 0;
      for (let j = 0; j < o.rows; j++) {
        const time = o.windowStart + Math.floor((j * periodMs) / o.rows);
        const features = featureNames.map((_, k) => round4(g.normal(k + shift * (1 + (k % 3)), 1 + (k % 3))));
        const outputs = [g.uniform() < 0.4 ? 1 : 0];
        predictions.push({ project: o.project, endpointId: ep.id, time, latencyUs: 1500, requestId: `r-${i}-${j}`, rowIndex: 0, features, outputs, labels: null });
        hist.add(ep.id, time, ep, features, outputs);
      }
    }
    await tsdb.writeIngestBatch({ predictions, errors: [], histograms: hist.rows() });
    if ((b / perBatch) % 20 === 19) o.log?.(`  ingested ${b + perBatch} endpoints × ${o.rows} rows (${Math.round((performance.now() - t0) / 1000)} s)`);
  }
  return ids;
}

function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
