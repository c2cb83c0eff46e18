import assert from 'node:assert/strict';
import { test } from 'node:test';
import { close, reportCases } from '../../test/fixtures/report/cases.ts';
import { ValidationError } from '../common/errors.ts';
import type { ColumnType } from '../stats/column-type.ts';
import { dataDriftReport } from './data-drift-report.ts';
import type { DriftMethod } from './methods.ts';
import type { DataDriftReportOptions } from './types.ts';

function optionsOf(raw: Record<string, unknown> | undefined): DataDriftReportOptions {
  const o = raw ?? {};
  const out: DataDriftReportOptions = {};
  if (o.method) out.method = o.method as DriftMethod;
  if (o.threshold !== undefined) out.threshold = o.threshold as number;
  if (o.columnMethods) out.columnMethods = o.columnMethods as Record<string, DriftMethod>;
  if (o.columnThresholds) out.columnThresholds = o.columnThresholds as Record<string, number>;
  if (o.columnTypes) out.columnTypes = o.columnTypes as Record<string, ColumnType>;
  if (o.benjaminiHochberg) out.benjaminiHochberg = true;
  return out;
}

for (const c of reportCases) {
  test(`report matches numpy/scipy: ${c.name} (${c.note})`, () => {
    const report = dataDriftReport(c.reference, c.current, optionsOf(c.options));
    const e = c.expected;
    assert.deepEqual(Object.keys(report.columns), Object.keys(e.columns), 'columns in order');
    for (const [name, want] of Object.entries(e.columns)) {
      const got = report.columns[name];
      assert.ok(got, name);
      const id = `${c.name}/${name}`;
      assert.equal(got.columnType, want.columnType, `${id} type`);
      assert.equal(got.method, want.method, `${id} method`);
      assert.ok(close(got.score, want.score), `${id} score ${got.score} vs ${want.score}`);
      assert.equal(got.threshold, want.threshold, `${id} threshold`);
      assert.equal(got.drifted, want.drifted, `${id} drifted`);
      assert.deepEqual(got.missing, want.missing, `${id} missing`);
      assert.deepEqual(got.count, want.count, `${id} count`);
      assert.equal(got.distinct, want.distinct, `${id} distinct`);
      if (want.statistic !== undefined) assert.ok(got.statistic !== undefined && close(got.statistic, want.statistic), `${id} statistic ${got.statistic} vs ${want.statistic}`);
      if (want.uncorrectedScore !== undefined) assert.ok(close(got.uncorrectedScore ?? Number.NaN, want.uncorrectedScore), `${id} uncorrected`);
      for (const k of ['tvd', 'hellinger', 'kld'] as const) {
        assert.ok(close(got.histogram[k], want.histogram[k]), `${id} histogram.${k} ${got.histogram[k]} vs ${want.histogram[k]}`);
      }
    }
    assert.equal(report.datasetDrift, e.datasetDrift);
    assert.ok(close(report.shareOfDriftedColumns, e.shareOfDriftedColumns));
    assert.equal(report.numberOfColumns, Object.keys(e.columns).length);
  });
}

test('JSON shape: the documented fields first, finite numbers, no raw rows', () => {
  const c = reportCases.find((x) => x.name === 'small_default_branches');
  assert.ok(c);
  const report = dataDriftReport(c.reference, c.current);
  const json = JSON.parse(JSON.stringify(report)) as Record<string, unknown>;
  assert.deepEqual(Object.keys(json).slice(0, 2), ['datasetDrift', 'shareOfDriftedColumns']);
  const col = (json.columns as Record<string, Record<string, unknown>>).num_same as Record<string, unknown>;
  assert.deepEqual(Object.keys(col).slice(0, 6), ['columnType', 'method', 'score', 'threshold', 'drifted', 'histogram']);
  assert.deepEqual(Object.keys(col.histogram as object), ['tvd', 'hellinger', 'kld']);
  const bins = col.bins as { kind: string; edges: number[]; reference: number[]; current: number[] };
  assert.equal(bins.kind, 'edges');
  assert.equal(bins.reference.reduce((a, b) => a + b, 0), 300);
  assert.equal(bins.current.reduce((a, b) => a + b, 0), 250);
});

test('inputs are not modified (numeric columns are copied before sorting)', () => {
  const ref = Float64Array.from({ length: 5000 }, (_, i) => Math.sin(i));
  const cur = Float64Array.from({ length: 4000 }, (_, i) => Math.cos(i));
  const before = [ref.slice(), cur.slice()];
  dataDriftReport({ x: ref }, { x: cur });
  assert.deepEqual(ref, before[0]);
  assert.deepEqual(cur, before[1]);
});

test('typed arrays, cell arrays and tables give the same report', () => {
  const ref = Array.from({ length: 1200 }, (_, i) => ((i * 37) % 101) / 7);
  const cur = Array.from({ length: 900 }, (_, i) => ((i * 53) % 103) / 7);
  const a = dataDriftReport({ x: Float64Array.from(ref) }, { x: Float64Array.from(cur) });
  const b = dataDriftReport({ x: ref }, { x: cur.map(String) });
  const t = dataDriftReport({ names: ['x'], columns: { x: ref }, rowCount: ref.length }, { names: ['x'], columns: { x: cur }, rowCount: cur.length });
  assert.deepEqual(a.columns.x, b.columns.x);
  assert.deepEqual(a.columns.x, t.columns.x);
  assert.equal(a.columns.x?.method, 'wasserstein');
});

test('columns: intersection by default, unknown ones rejected, empty ones skipped', () => {
  const r = dataDriftReport({ a: [1, 2, 3], b: [1, 2, 3], only_ref: [1, 2, 3], empty: [null, null, null] }, { a: [1, 2, 3], b: [3, 2, 1], only_cur: [1, 1, 1], empty: ['', 'NA', null] });
  assert.deepEqual(Object.keys(r.columns), ['a', 'b']);
  assert.deepEqual(Object.keys(r.skippedColumns).sort(), ['empty', 'only_cur', 'only_ref']);
  assert.match(r.skippedColumns.empty ?? '', /all missing/);
  assert.throws(() => dataDriftReport({ a: [1] }, { a: [1] }, { columns: ['nope'] }), ValidationError);
  assert.throws(() => dataDriftReport({ a: [1] }, { b: [1] }), /no column in common/);
});

test('numeric-only methods are refused on categorical columns; unknown methods too', () => {
  assert.throws(() => dataDriftReport({ c: ['a', 'b', 'c'] }, { c: ['a', 'b', 'b'] }, { method: 'ks' }), /needs a numeric column/);
  assert.throws(() => dataDriftReport({ c: [1, 2] }, { c: [1, 2] }, { method: 'nope' as DriftMethod }), /unknown drift method/);
  assert.throws(() => dataDriftReport({ c: [1, 2] }, { c: [1, 2] }, { threshold: Number.NaN }), /finite/);
  assert.throws(() => dataDriftReport({ c: [1, 2] }, { c: [1, 2] }, { driftShare: 2 }), /driftShare/);
});

test('column type override: numbers as categories, text forced numeric counts as missing', () => {
  const r = dataDriftReport(
    { n: [1, 2, 3, 1, 2, 3], t: ['1', '2', 'x', '3', '4', '5'] },
    { n: [1, 1, 1, 2, 2, 2], t: ['1', '2', '3', '4', '5', '6'] },
    { columnTypes: { n: 'categorical', t: 'numeric' } },
  );
  assert.equal(r.columns.n?.columnType, 'categorical');
  assert.equal(r.columns.t?.columnType, 'numeric');
  assert.deepEqual(r.columns.t?.missing, { reference: 1, current: 0 });
});

test('dataset drift by share, configurable', () => {
  const ref = { a: [0, 0, 0, 0, 1, 1, 1, 1], b: [0, 0, 0, 0, 1, 1, 1, 1] };
  const cur = { a: [1, 1, 1, 1, 1, 1, 1, 1], b: [0, 0, 0, 0, 1, 1, 1, 1] };
  const r = dataDriftReport(ref, cur);
  assert.equal(r.numberOfDriftedColumns, 1);
  assert.equal(r.shareOfDriftedColumns, 0.5);
  assert.equal(r.datasetDrift, true);
  assert.equal(dataDriftReport(ref, cur, { driftShare: 0.6 }).datasetDrift, false);
});

test('progress callback per column', () => {
  const seen: string[] = [];
  dataDriftReport({ a: [1, 2], b: [1, 2] }, { a: [1, 2], b: [2, 1] }, { onProgress: (done, total, name) => seen.push(`${done}/${total} ${name}`) });
  assert.deepEqual(seen, ['1/2 a', '2/2 b']);
});
