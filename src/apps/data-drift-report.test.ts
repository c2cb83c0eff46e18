import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ValidationError } from '../common/errors.ts';
import { ResultStatus, type AppResult } from '../common/types.ts';
import { dataDriftReport } from '../report/data-drift-report.ts';
import { computeFeatureStats, currentStatsOnReference } from '../stats/feature-stats.ts';
import type { MonitoringApplicationContext } from './context.ts';
import { DataDriftReportApplication, resultName } from './data-drift-report.ts';
import { normalizeOutput } from './results.ts';

/** Deterministic columns: `x` continuous, `k` 3 levels, `color` categorical. */
function table(n: number, shift: number): Record<string, unknown[]> {
  const x: number[] = [];
  const k: number[] = [];
  const color: string[] = [];
  for (let i = 0; i < n; i++) {
    x.push(Math.round(((Math.sin(i * 12.9898) * 43758.5453) % 1) * 1000) / 100 + shift);
    k.push((i + (shift > 0 ? i % 2 : 0)) % 3);
    color.push(['red', 'green', 'blue'][(i * 7 + (shift > 0 ? 1 : 0)) % 3] as string);
  }
  return { x, k, 'sepal length (cm)': color };
}

interface Fake {
  ctx: MonitoringApplicationContext;
  artifacts: { name: string; body: string | object }[];
  warnings: string[];
  /** Calls of `ctx.reference()`. */
  referenceCalls: number;
}

const MODEL_URI = 'store://models/p/m:latest';

/** A context whose `reference()` gives `reference` as the kept training set (none when undefined). */
function fakeContext(reference: Record<string, unknown[]> | undefined, current: Record<string, unknown[]>, options: Record<string, unknown> = {}): Fake {
  const featureStats = computeFeatureStats(reference ?? current);
  const rowCount = (Object.values(current)[0] ?? []).length;
  const fake: Fake = { ctx: undefined as unknown as MonitoringApplicationContext, artifacts: [], warnings: [], referenceCalls: 0 };
  const noop = (): void => undefined;
  fake.ctx = {
    applicationName: 'data-drift-report',
    project: 'p',
    endpoint: { id: 'ep1', name: 'model-ep', function: 'f', model: 'm', modelVersion: '1', modelUri: MODEL_URI, featureNames: Object.keys(current), labelNames: [] },
    startMs: 0,
    endMs: 60_000,
    windowStart: new Date(0),
    windowEnd: new Date(60_000),
    sample: { columns: current, rowCount, totalRows: rowCount, requestIds: [], times: [] },
    sampleStats: currentStatsOnReference(featureStats, current),
    featureStats,
    reference: () => {
      fake.referenceCalls++;
      if (!reference) return Promise.resolve(undefined);
      const names = Object.keys(reference);
      return Promise.resolve({ names, columns: reference, rowCount: (reference[names[0] as string] ?? []).length, modelUri: MODEL_URI });
    },
    options,
    logger: { info: noop, warn: (msg) => fake.warnings.push(msg), error: noop },
    logArtifact: async (name, body) => {
      fake.artifacts.push({ name, body });
      return `/artifacts/${name}`;
    },
  };
  return fake;
}

async function track(app: DataDriftReportApplication, ctx: MonitoringApplicationContext): Promise<AppResult[]> {
  return normalizeOutput('data-drift-report', await app.doTracking(ctx)).results;
}

/** The app's column results equal the offline report's columns on the same two tables. */
function assertSameAsReport(results: AppResult[], want: ReturnType<typeof dataDriftReport>): void {
  assert.equal(results.length, Object.keys(want.columns).length + 1);
  for (const [column, c] of Object.entries(want.columns)) {
    const r = results.find((x) => x.extraData?.column === column);
    assert.ok(r, column);
    assert.equal(r.value, c.score, column);
    assert.equal(r.status, c.drifted ? ResultStatus.detected : ResultStatus.no_detection, column);
    const { bins: _bins, ...measures } = c;
    assert.deepEqual({ ...r.extraData }, { column, ...measures }, column);
  }
  const ds = results.at(-1) as AppResult;
  assert.equal(ds.name, 'dataset_drift');
  assert.equal(ds.value, want.shareOfDriftedColumns);
  assert.equal(ds.status, want.datasetDrift ? ResultStatus.detected : ResultStatus.no_detection);
}

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'mw-ddr-app-'));
});
after(async () => rm(dir, { recursive: true, force: true }));

test('the kept training set is the reference: per column and dataset, the offline report on the same two tables', async () => {
  const ref = table(2000, 0);
  const cur = table(500, 4);
  const fake = fakeContext(ref, cur);
  const results = await track(new DataDriftReportApplication(), fake.ctx);
  assert.deepEqual(results.map((r) => r.name), ['x', 'k', 'sepal_length__cm_', 'dataset_drift']);
  assertSameAsReport(results, dataDriftReport(ref, cur));
  const x = results[0] as AppResult;
  assert.equal(x.extraData?.method, 'wasserstein', 'reference > 1000 rows, continuous: normed Wasserstein on the rows');
  assert.equal(x.status, ResultStatus.detected);
  assert.equal(results[3]?.extraData?.reference, MODEL_URI);
  assert.equal(fake.referenceCalls, 1);
});

test('small reference, same data: KS and chi-square find nothing', async () => {
  const ref = table(600, 0);
  const { ctx } = fakeContext(ref, ref);
  const results = await track(new DataDriftReportApplication(), ctx);
  assert.deepEqual(results.slice(0, 3).map((r) => r.extraData?.method), ['ks', 'chisquare', 'chisquare']);
  for (const r of results.slice(0, 3)) {
    assert.equal(r.value, 1);
    assert.equal(r.status, ResultStatus.no_detection);
  }
  assert.equal(results.at(-1)?.status, ResultStatus.no_detection);
});

test('strings with missing values, numbers with missing values: the report numbers, missing counted', async () => {
  const ref = { origin: ['USA', null, 'Japan', 'Europe', 'USA', null, 'USA', 'Japan'].flatMap((v) => Array<unknown>(10).fill(v)), hp: Array.from({ length: 80 }, (_, i) => (i % 9 === 0 ? null : 60 + (i % 13) * 7)) };
  const cur = { origin: ['USA', 'USA', null, 'Japan', 'Europe'].flatMap((v) => Array<unknown>(12).fill(v)), hp: Array.from({ length: 60 }, (_, i) => (i % 7 === 0 ? null : 64 + (i % 11) * 8)) };
  const results = await track(new DataDriftReportApplication(), fakeContext(ref, cur).ctx);
  const want = dataDriftReport(ref, cur);
  assertSameAsReport(results, want);
  assert.deepEqual(results[0]?.extraData?.missing, { reference: 20, current: 12 });
  assert.equal(results[0]?.extraData?.columnType, 'categorical');
});

test('minSamples: a window with fewer rows is not judged, and says why', async () => {
  const ref = table(300, 0);
  for (const [rows, minSamples] of [[49, undefined], [9, 10]] as const) {
    const fake = fakeContext(ref, table(rows, 4), minSamples === undefined ? {} : { minSamples });
    const results = await track(new DataDriftReportApplication(), fake.ctx);
    assert.equal(results.length, 1, 'no per-column results');
    const ds = results[0] as AppResult;
    assert.equal(ds.name, 'dataset_drift');
    assert.equal(ds.status, ResultStatus.irrelevant);
    assert.match(String(ds.extraData?.message), new RegExp(`holds ${rows} rows, fewer than minSamples \\(${minSamples ?? 50}\\)`));
    assert.equal(fake.referenceCalls, 0, 'the reference is not even read');
  }
  const enough = await track(new DataDriftReportApplication({ minSamples: 10 }), fakeContext(ref, table(10, 4)).ctx);
  assert.equal(enough.length, 4, 'at minSamples rows the window is judged');
  assert.equal((await track(new DataDriftReportApplication(), fakeContext(ref, table(50, 4)).ctx)).length, 4, 'default 50');
  await assert.rejects(new DataDriftReportApplication({ minSamples: -1 }).doTracking(fakeContext(ref, table(60, 0)).ctx) as Promise<unknown>, (err: unknown) => err instanceof ValidationError && /minSamples/.test(err.message));
});

test('no kept training set: dataset_drift irrelevant, a message saying to log the model again, one warning', async () => {
  const app = new DataDriftReportApplication();
  const fake = fakeContext(undefined, table(100, 0));
  for (let i = 0; i < 2; i++) {
    const results = await track(app, fake.ctx);
    assert.equal(results.length, 1);
    assert.equal(results[0]?.name, 'dataset_drift');
    assert.equal(results[0]?.status, ResultStatus.irrelevant);
    assert.match(String(results[0]?.extraData?.message), /store:\/\/models\/p\/m:latest has no kept training set.*log the model again/);
  }
  assert.equal(fake.warnings.length, 1, 'warned once for the endpoint');
  const none = fakeContext(undefined, table(100, 0));
  none.ctx.endpoint.modelUri = '';
  const results = await track(app, none.ctx);
  assert.match(String(results[0]?.extraData?.message), /names no logged model/);
});

test('referencePath: the file instead of the kept training set; read once', async () => {
  const ref = table(3000, 0);
  const file = path.join(dir, 'train.csv');
  const names = Object.keys(ref);
  const lines = [names.map((n) => `"${n}"`).join(',')];
  for (let i = 0; i < 3000; i++) lines.push(names.map((n) => String((ref[n] as unknown[])[i])).join(','));
  await writeFile(file, `${lines.join('\n')}\n`);
  const cur = table(400, 1);
  const app = new DataDriftReportApplication({ referencePath: file });
  const fake = fakeContext(table(100, 5), cur);
  const results = await track(app, fake.ctx);
  assertSameAsReport(results, dataDriftReport(ref, cur));
  assert.equal(results.at(-1)?.extraData?.reference, file);
  assert.equal(fake.referenceCalls, 0, 'the kept training set is not read');
  await writeFile(file, 'broken');
  const again = await track(app, fake.ctx);
  assert.deepEqual(again, results, 'cached reference');
});

test('options: per-column method and threshold, drift share; logReport stores the HTML page', async () => {
  const { ctx, artifacts } = fakeContext(table(2000, 0), table(500, 4), { columnMethods: { x: 'psi' }, columnThresholds: { k: 0.99 }, driftShare: 0.9, logReport: true });
  const results = await track(new DataDriftReportApplication(), ctx);
  assert.equal(results[0]?.extraData?.method, 'psi');
  assert.equal(results[1]?.extraData?.threshold, 0.99);
  assert.equal(results.at(-1)?.extraData?.driftShare, 0.9);
  assert.equal(artifacts.length, 1);
  assert.equal(artifacts[0]?.name, 'data-drift-report.html');
  assert.match(String(artifacts[0]?.body), /^<!doctype html>/);
});

test('result names: sanitized, unique, never dataset_drift', async () => {
  assert.equal(resultName('sepal length (cm)'), 'sepal_length__cm_');
  assert.equal(resultName('1st'), '_1st');
  const ref = { dataset_drift: [1, 2, 3, 1, 2, 3], 'a-b': [1, 2, 3, 1, 2, 3], a_b: [1, 2, 3, 1, 2, 3] };
  const { ctx } = fakeContext(ref, ref, { minSamples: 0 });
  const results = await track(new DataDriftReportApplication(), ctx);
  assert.deepEqual(results.map((r) => r.name), ['dataset_drift_2', 'a_b', 'a_b_2', 'dataset_drift']);
});

test('no comparable column: only dataset_drift, irrelevant, with the skipped columns; a warning', async () => {
  const fake = fakeContext({ x: [1, 2, 3] }, { x: [null, null] }, { minSamples: 0 });
  const results = await track(new DataDriftReportApplication(), fake.ctx);
  assert.equal(results.length, 1);
  assert.equal(results[0]?.status, ResultStatus.irrelevant);
  assert.deepEqual(results[0]?.extraData?.skippedColumns, { x: 'no values in current (all missing)' });
  assert.equal(fake.warnings.length, 1);
});
