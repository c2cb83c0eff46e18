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
}

function fakeContext(reference: Record<string, unknown[]>, current: Record<string, unknown[]>, options: Record<string, unknown> = {}): Fake {
  const featureStats = computeFeatureStats(reference);
  const rowCount = (Object.values(current)[0] ?? []).length;
  const artifacts: Fake['artifacts'] = [];
  const noop = (): void => undefined;
  const ctx: MonitoringApplicationContext = {
    applicationName: 'data-drift-report',
    project: 'p',
    endpoint: { id: 'ep1', name: 'model-ep', function: 'f', model: 'm', modelVersion: '1', featureNames: Object.keys(current), labelNames: [] },
    startMs: 0,
    endMs: 60_000,
    windowStart: new Date(0),
    windowEnd: new Date(60_000),
    sample: { columns: current, rowCount, totalRows: rowCount, requestIds: [], times: [] },
    sampleStats: currentStatsOnReference(featureStats, current),
    featureStats,
    options,
    logger: { info: noop, warn: noop, error: noop },
    logArtifact: async (name, body) => {
      artifacts.push({ name, body });
      return `/artifacts/${name}`;
    },
  };
  return { ctx, artifacts };
}

async function track(app: DataDriftReportApplication, ctx: MonitoringApplicationContext): Promise<AppResult[]> {
  return normalizeOutput('data-drift-report', await app.doTracking(ctx)).results;
}

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'mw-ddr-app-'));
});
after(async () => rm(dir, { recursive: true, force: true }));

test('binned mode: one result per column and dataset_drift, from the reference histograms', async () => {
  const { ctx } = fakeContext(table(2000, 0), table(500, 4));
  const results = await track(new DataDriftReportApplication(), ctx);
  assert.deepEqual(results.map((r) => r.name), ['x', 'k', 'sepal_length__cm_', 'dataset_drift']);
  const x = results[0] as AppResult;
  assert.equal(x.extraData?.method, 'jensenshannon', 'reference > 1000 values: JS on the bins');
  assert.equal(x.extraData?.mode, 'binned');
  assert.equal(x.extraData?.column, 'x');
  assert.equal(x.status, ResultStatus.detected);
  assert.ok(x.value >= 0.1);
  const ds = results[3] as AppResult;
  assert.equal(ds.kind, 0);
  assert.equal(ds.value, (results.slice(0, 3).filter((r) => r.status === ResultStatus.detected).length) / 3);
  assert.ok((ds.extraData?.columns as Record<string, unknown>).x);
});

test('binned mode, small reference: chi-square on the bins; same data → no drift', async () => {
  const ref = table(600, 0);
  const { ctx } = fakeContext(ref, ref);
  const results = await track(new DataDriftReportApplication(), ctx);
  for (const r of results.slice(0, 3)) {
    assert.equal(r.extraData?.method, 'chisquare');
    assert.equal(r.value, 1);
    assert.equal(r.status, ResultStatus.no_detection);
  }
  assert.equal(results.at(-1)?.status, ResultStatus.no_detection);
});

test('binned mode refuses raw-sample methods and says to give referencePath', async () => {
  const { ctx } = fakeContext(table(2000, 0), table(500, 1), { method: 'ks' });
  await assert.rejects(new DataDriftReportApplication().doTracking(ctx) as Promise<unknown>, (err: unknown) => err instanceof ValidationError && /referencePath/.test(err.message));
});

test('raw mode (referencePath): the offline report numbers on the window sample; the file is read once', async () => {
  const ref = table(3000, 0);
  const file = path.join(dir, 'train.csv');
  const names = Object.keys(ref);
  const lines = [names.map((n) => `"${n}"`).join(',')];
  for (let i = 0; i < 3000; i++) lines.push(names.map((n) => String((ref[n] as unknown[])[i])).join(','));
  await writeFile(file, `${lines.join('\n')}\n`);
  const cur = table(400, 1);
  const app = new DataDriftReportApplication({ referencePath: file });
  const { ctx } = fakeContext(ref, cur);
  const results = await track(app, ctx);
  const want = dataDriftReport(ref, cur);
  for (const [column, c] of Object.entries(want.columns)) {
    const r = results.find((x) => x.extraData?.column === column);
    assert.ok(r, column);
    assert.equal(r.value, c.score, column);
    assert.equal(r.extraData?.method, c.method);
    assert.equal(r.extraData?.mode, 'raw');
    assert.deepEqual(r.extraData?.histogram, c.histogram);
  }
  assert.equal(results.find((r) => r.name === 'x')?.extraData?.method, 'wasserstein');
  await writeFile(file, 'broken');
  const again = await track(app, ctx);
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
  const { ctx } = fakeContext(ref, ref);
  const results = await track(new DataDriftReportApplication(), ctx);
  assert.deepEqual(results.map((r) => r.name), ['dataset_drift_2', 'a_b', 'a_b_2', 'dataset_drift']);
});

test('no comparable column: no results, a warning', async () => {
  const warnings: string[] = [];
  const { ctx } = fakeContext({ x: [1, 2, 3] }, { x: [null, null] });
  ctx.logger.warn = (msg) => warnings.push(msg);
  assert.deepEqual(await track(new DataDriftReportApplication(), ctx), []);
  assert.equal(warnings.length, 1);
});
