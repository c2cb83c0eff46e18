import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ManualClock, Modelwatch, ResultStatus, type Project, type ServingFunction } from '../../src/index.ts';
import type { ResultRow } from '../../src/store/tsdb-port.ts';
import { tempHome } from './helpers.ts';
import { seededSplit, vegaRows } from './vega-data.ts';

/*
 * A regression test on real data, for both built-in apps with their default options, through the
 * real pipeline (embedded mode): two public data sets (cars, penguins), each split at random
 * (seeded) into a training set of 60% and held-out rows. Windows of held-out rows are traffic like
 * the training data: neither app may report drift on them. Then windows of a shifted population
 * (cars over 3,600 lbs; penguins with flippers over 210 mm): both apps must report drift, with the
 * shifted feature among the most drifted of each app's output.
 *
 * histogram-data-drift reports these shifts as suspected (potential_detection), not detected: the
 * shifted rows are a part of the training population (heavy cars are a quarter of the training
 * set), so a feature's TVD cannot pass the share the training set leaves outside them (about 0.75
 * for Weight_in_lbs), and general_drift, a mean over every feature, lands near 0.55-0.6, between
 * the 0.5 and 0.7 thresholds (SPEC section 4). What the test holds it to: suspected on every
 * shifted window, well above every window like training, the shifted feature in its top 3.
 */
const PERIOD = 10 * 60_000;
const T0 = Date.UTC(2026, 8, 1);
const SEED = 7;

interface DataSet {
  model: string;
  features: string[];
  label: string;
  /** The feature the shifted windows select on. */
  shifted: string;
  like: Record<string, unknown>[][];
  unlike: Record<string, unknown>[][];
  predict: (row: unknown[]) => number;
  train: Record<string, unknown>[];
}

/** Least squares `y = a + b·x` over the rows where both are numbers, rounded like a served prediction. */
function fitLine(rows: Record<string, unknown>[], x: string, y: string): (v: unknown) => number {
  const pts = rows.filter((r) => typeof r[x] === 'number' && typeof r[y] === 'number').map((r) => [r[x] as number, r[y] as number] as const);
  const mx = pts.reduce((s, [a]) => s + a, 0) / pts.length;
  const my = pts.reduce((s, [, b]) => s + b, 0) / pts.length;
  const b = pts.reduce((s, [a, c]) => s + (a - mx) * (c - my), 0) / pts.reduce((s, [a]) => s + (a - mx) ** 2, 0);
  return (v) => (typeof v === 'number' ? Math.round((my + b * (v - mx)) * 10) / 10 : Math.round(my * 10) / 10);
}

/** `rows` cut into `n` windows of nearly equal size. */
function windows<T>(rows: readonly T[], n: number): T[][] {
  const size = Math.ceil(rows.length / n);
  return Array.from({ length: n }, (_, i) => rows.slice(i * size, (i + 1) * size));
}

function dataSet(name: 'cars' | 'penguins'): DataSet {
  const all = vegaRows(name);
  const { train, rest } = seededSplit(all, 0.6, SEED);
  if (name === 'cars') {
    const features = ['Miles_per_Gallon', 'Cylinders', 'Displacement', 'Weight_in_lbs', 'Acceleration', 'Origin'];
    const hp = fitLine(train, 'Weight_in_lbs', 'Horsepower');
    const heavy = seededSplit(all.filter((r) => (r.Weight_in_lbs as number) > 3600), 1, SEED).train;
    return { model: 'cars', features, label: 'Horsepower', shifted: 'Weight_in_lbs', like: windows(rest, 2), unlike: windows(heavy, 2), predict: (r) => hp(r[3]), train };
  }
  const features = ['Species', 'Island', 'Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)', 'Sex'];
  const mass = fitLine(train, 'Flipper Length (mm)', 'Body Mass (g)');
  const long = seededSplit(all.filter((r) => typeof r['Flipper Length (mm)'] === 'number' && (r['Flipper Length (mm)'] as number) > 210), 1, SEED).train;
  return { model: 'penguins', features, label: 'Body Mass (g)', shifted: 'Flipper Length (mm)', like: windows(rest, 2), unlike: windows(long, 1), predict: (r) => mass(r[4]), train };
}

const sets = [dataSet('cars'), dataSet('penguins')];
let mw: Modelwatch;
let project: Project;
let fn: ServingFunction;
let clock: ManualClock;
let cleanup: () => void;

before(async () => {
  const t = tempHome();
  cleanup = t.cleanup;
  clock = new ManualClock(T0);
  mw = await Modelwatch.open({ home: t.home, clock, background: false });
  project = await mw.createProject('real');
  await project.enableModelMonitoring({ basePeriod: 10 });
  await project.setModelMonitoringFunction({ name: 'drift-report', application: 'data-drift-report' });
  await project.deployFunction('drift-report');
  fn = await project.setFunction('serving', { kind: 'serving' });
  for (const s of sets) {
    const model = await project.logModel(s.model, { model: {}, trainingSet: s.train, inputs: s.features, labelColumn: s.label });
    fn.addModel(s.model, { model: class { predict = (rows: unknown[][]) => rows.map(s.predict); }, modelUri: model.uri });
  }
  fn.setTracking();
  await project.deployFunction(fn);
  // Window by window (the clock only goes forward), each data set in a part of its own: one request every 2 s.
  for (let w = 0; w < 4; w++) {
    for (const [k, s] of sets.entries()) {
      const rows = [...s.like, ...s.unlike][w] ?? [];
      assert.ok(rows.length === 0 || rows.length >= 50, `${s.model} window ${w} holds ${rows.length} rows, at least minSamples`);
      for (const [i, row] of rows.entries()) {
        clock.set(T0 + w * PERIOD + k * 250_000 + i * 2000);
        await fn.invoke(`/v2/models/${s.model}/infer`, { inputs: [s.features.map((n) => row[n] ?? null)] });
      }
    }
  }
  clock.set(T0 + 4 * PERIOD + 61_000);
  await mw.runUntilIdle();
});

after(async () => {
  await mw?.close();
  cleanup?.();
});

async function results(s: DataSet): Promise<ResultRow[]> {
  const ep = (await project.listModelEndpoints()).find((e) => e.model === s.model);
  assert.ok(ep, `endpoint of ${s.model}`);
  return project.listResults({ endpointId: ep.id });
}

/** Per window: general_drift of histogram-data-drift and dataset_drift of data-drift-report, in window order. */
async function byWindow(s: DataSet): Promise<{ general: ResultRow; dataset: ResultRow; columns: ResultRow[] }[]> {
  const rows = await results(s);
  const n = s.like.length + s.unlike.length;
  return Array.from({ length: n }, (_, w) => {
    const at = rows.filter((r) => r.windowStart === T0 + w * PERIOD);
    const general = at.find((r) => r.app === 'histogram-data-drift' && r.name === 'general_drift');
    const dataset = at.find((r) => r.app === 'drift-report' && r.name === 'dataset_drift');
    assert.ok(general && dataset, `${s.model} window ${w}: both apps gave a result (${at.map((r) => `${r.app}/${r.name}`).join(', ')})`);
    return { general, dataset, columns: at.filter((r) => r.app === 'drift-report' && r.name !== 'dataset_drift') };
  });
}

/** The features of a general_drift result, most drifted first (mean of Hellinger and TVD, as general_drift). */
function histogramRanking(general: ResultRow): string[] {
  const features = general.extraData.features as Record<string, { hellinger: number; tvd: number }>;
  return Object.entries(features)
    .sort(([, a], [, b]) => (b.hellinger + b.tvd) / 2 - (a.hellinger + a.tvd) / 2)
    .map(([name]) => name);
}

/**
 * The numeric columns of a window's data-drift-report results, most drifted first by their
 * Kolmogorov–Smirnov statistic (their p-values sit below 1e-15 on these shifts, too small to rank).
 */
function reportRanking(columns: ResultRow[]): string[] {
  const ks = columns.filter((r) => r.extraData.method === 'ks');
  return ks.sort((a, b) => (b.extraData.statistic as number) - (a.extraData.statistic as number)).map((r) => r.extraData.column as string);
}

for (const s of sets) {
  test(`${s.model}: windows like the training data give no detection in either built-in app`, async () => {
    const ws = (await byWindow(s)).slice(0, s.like.length);
    for (const [w, { general, dataset }] of ws.entries()) {
      const why = `${s.model} window ${w}: general_drift ${general.value.toFixed(3)} ${JSON.stringify(histogramRanking(general).slice(0, 3))}, dataset_drift ${dataset.value.toFixed(3)}`;
      assert.equal(general.status, ResultStatus.no_detection, why);
      assert.equal(dataset.status, ResultStatus.no_detection, why);
      const compared = Object.keys(general.extraData.features as object);
      assert.deepEqual(compared.sort(), [...s.features, s.label].sort(), `${s.model}: every feature compared, string ones included`);
    }
  });

  test(`${s.model}: shifted windows are reported by both apps, the shifted feature among the most drifted`, async () => {
    const all = await byWindow(s);
    const likeMax = Math.max(...all.slice(0, s.like.length).map((w) => w.general.value));
    for (const [w, { general, dataset, columns }] of all.slice(s.like.length).entries()) {
      const ranking = histogramRanking(general);
      const ks = reportRanking(columns);
      const why = `${s.model} shifted window ${w}: general_drift ${general.value.toFixed(3)} ${JSON.stringify(ranking.slice(0, 3))}, dataset_drift ${dataset.value.toFixed(3)}, KS order ${JSON.stringify(ks)}`;
      assert.equal(general.status, ResultStatus.potential_detection, why);
      assert.ok(general.value >= likeMax + 0.15, `general_drift well above every window like training (${likeMax.toFixed(3)}); ${why}`);
      assert.ok(ranking.slice(0, 3).includes(s.shifted), `histogram-data-drift: ${s.shifted} in the top 3; ${why}`);
      assert.equal(dataset.status, ResultStatus.detected, why);
      assert.equal(columns.find((r) => r.extraData.column === s.shifted)?.status, ResultStatus.detected, why);
      assert.ok(ks.slice(0, 2).includes(s.shifted), `data-drift-report: ${s.shifted} in the top 2 by KS statistic; ${why}`);
    }
    const ep = (await project.listModelEndpoints()).find((e) => e.model === s.model);
    assert.equal(ep?.driftStatus, 'potential_detection');
    const events = await project.listEvents({ endpointId: ep?.id });
    assert.ok(events.some((e) => e.kind === 'data-drift-suspected'), 'a suspected-drift event for the shifted windows');
  });
}
