import assert from 'node:assert/strict';
import { test } from 'node:test';
import { categoricalCases, cases, close } from '../../../test/fixtures/histogram/cases.ts';
import { statsFromHistograms } from '../../apps/context-builder.ts';
import type { FeatureStatsMap } from '../../common/types.ts';
import { computeFeatureStats, currentStatsOnReference } from '../../stats/feature-stats.ts';
import { referenceHistogram } from '../../stats/histogram.ts';
import { mergeByKey } from '../../store/tsdb-rows.ts';
import type { WindowHistogram } from '../../store/tsdb-port.ts';
import { HistogramAccumulator } from './histogram-accumulator.ts';

const MAX = Number.MAX_VALUE;
const PERIOD = 600_000;

/** One endpoint whose features are the reference's columns, in their order. */
function endpoint(featureStats: FeatureStatsMap, labelNames: string[] = []) {
  return { featureNames: Object.keys(featureStats).filter((n) => !labelNames.includes(n)), labelNames, featureStats };
}

/** Counts `rows` (features only) at ingest in one window; the rows of the window. */
function ingest(featureStats: FeatureStatsMap, rows: unknown[][], acc = new HistogramAccumulator('p', PERIOD)): WindowHistogram[] {
  const ep = endpoint(featureStats);
  rows.forEach((row, i) => acc.add('e', 1_000 + i, ep, row, []));
  return acc.rows();
}

test('numeric features: cells become numbers, missing and non-numeric values are counted apart, moments kept', () => {
  const acc = new HistogramAccumulator('p', PERIOD);
  const ep = { featureNames: ['a'], labelNames: ['y'], featureStats: { a: { count: 2, missing: 0, hist: { counts: [0, 1, 1, 0], edges: [-MAX, 0, 1, 2, MAX] } } } };
  acc.add('e', 1_000, ep, [0.5], [3]);
  acc.add('e', 2_000, ep, [null], [4]);
  acc.add('e', 3_000, ep, ['1.5'], ['x']);
  acc.add('e', 4_000, ep, ['oops'], [true]);
  acc.add('e', 5_000, ep, [Number.POSITIVE_INFINITY], ['NA']);
  acc.add('e', PERIOD, ep, [1.5], [5]); // next window
  const rows = acc.rows();
  const a0 = rows.find((r) => r.feature === 'a' && r.windowStart === 0)!;
  assert.deepEqual(a0.counts, [0, 1, 1, 0]);
  assert.equal(a0.count, 2);
  assert.equal(a0.missing, 3, 'null, text that is no number, and Infinity');
  assert.equal(a0.windowEnd, PERIOD);
  assert.equal(a0.atMax, 0);
  assert.equal(a0.categories, null);
  const y0 = rows.find((r) => r.feature === 'y' && r.windowStart === 0)!;
  assert.deepEqual(y0.counts, [], 'no reference edges: moments only');
  assert.equal(y0.sum, 3 + 4 + 1);
  assert.equal(y0.sumSq, 9 + 16 + 1);
  assert.equal(y0.missing, 2);
  assert.equal(rows.filter((r) => r.windowStart === PERIOD).length, 2);
});

test('a value equal to the reference maximum is counted in the last real bin, and counted apart', () => {
  const edges = [-MAX, 0, 1, 2, MAX];
  const [a] = ingest({ a: { count: 3, missing: 0, hist: { counts: [0, 1, 2, 0], edges } } }, [[2], [2], ['2'], [1.999], [2.001], [MAX], [-1], [0]]);
  assert.deepEqual(a?.counts, [1, 1, 4, 2]);
  assert.equal(a?.atMax, 3);
});

for (const c of cases) {
  test(`ingest counts equal numpy's under the reference rule: ${c.name}`, () => {
    // The histogram itself, so that an empty reference has its edges too.
    const reference = { x: { count: c.reference.length, missing: 0, hist: referenceHistogram(c.reference) } };
    const [x] = ingest(reference, c.current.map((v) => [v]));
    assert.deepEqual(x?.counts, c.currentCountsReference);
    assert.equal(x?.atMax, c.currentAtMax);
  });
}

test('categorical features: the reference categories plus one "other" count; missing values apart', () => {
  const reference = computeFeatureStats({ origin: ['USA', 'Japan', 'USA', 'Europe'], n: [1, 2, 3, 4] });
  const [origin, n] = ingest(reference, [
    ['USA', 1],
    ['Japan', 4],
    ['Mars', 2],
    [null, null],
    ['', 3],
    ['USA', 'USA'],
    [7, 2],
  ]);
  assert.deepEqual(origin?.categories, { USA: 2, Japan: 1 }, 'only categories seen are stored');
  assert.equal(origin?.categoryOther, 2, "'Mars' and 7");
  assert.equal(origin?.count, 5);
  assert.equal(origin?.missing, 2);
  assert.deepEqual(origin?.counts, []);
  assert.equal(origin?.min, null);
  assert.equal(n?.categories, null);
  assert.equal(n?.count, 5);
  assert.equal(n?.missing, 2, "null and 'USA' (a numeric feature)");
});

for (const c of categoricalCases) {
  test(`ingest category counts equal the fixture's: ${c.name}`, () => {
    const reference = computeFeatureStats({ x: c.reference });
    assert.deepEqual(reference.x?.categories, c.categories);
    const [x] = ingest(reference, c.current.map((v) => [v]));
    const seen = Object.fromEntries(Object.entries(c.currentCategories).filter(([, k]) => k > 0));
    assert.deepEqual(x?.categories, seen);
    assert.equal(x?.categoryOther, c.currentOther);
    assert.equal(x?.missing, c.currentMissing);
    const stats = statsFromHistograms(x ? [x] : [], reference).x;
    assert.deepEqual(stats?.categories, c.currentCategories, 'window stats list every reference category');
    assert.equal(stats?.other, c.currentOther);
  });
}

test('two partitions counted apart and merged give what one pass over every row gives, and what the rows give', () => {
  const reference = computeFeatureStats({
    cyl: [4, 4, 6, 8, 8, 8, 3],
    origin: ['USA', 'Japan', 'Europe', 'USA'],
    w: [1.5, 2.5, 3.5, 10],
  });
  const all: unknown[][] = [
    [8, 'USA', 10],
    [8, 'Japan', 1.5],
    [4, 'Mars', null],
    [3, null, 2],
    [8, 'USA', 10],
    [5, 'Europe', 11],
    ['x', 'USA', -3],
    [8, 'Venus', 10],
  ];
  const ep = endpoint(reference);
  const a = new HistogramAccumulator('p', PERIOD);
  const b = new HistogramAccumulator('p', PERIOD);
  all.forEach((row, i) => (i % 3 === 0 ? a : b).add('e', 1_000 + i, ep, row, []));
  const merged = [...mergeByKey([...a.rows(), ...b.rows()]).values()];
  const single = ingest(reference, all);
  assert.deepEqual(merged, single);
  const cyl = merged.find((h) => h.feature === 'cyl');
  assert.equal(cyl?.atMax, 4, 'the values at the maximum of both partitions');
  const origin = merged.find((h) => h.feature === 'origin');
  assert.deepEqual(origin?.categories, { USA: 3, Japan: 1, Europe: 1 });
  assert.equal(origin?.categoryOther, 2);

  const columns = { cyl: all.map((r) => r[0]), origin: all.map((r) => r[1]), w: all.map((r) => r[2]) };
  const fromRows = currentStatsOnReference(reference, columns);
  const fromIngest = statsFromHistograms(merged, reference);
  assert.deepEqual(fromIngest.origin, fromRows.origin);
  for (const name of ['cyl', 'w']) {
    const { std: s1, ...ingested } = fromIngest[name] ?? { count: -1, missing: -1 };
    const { std: s2, ...binned } = fromRows[name] ?? { count: -1, missing: -1 };
    assert.deepEqual(ingested, binned, name);
    // Moments at ingest against the rows' compensated sums: equal to rounding.
    assert.ok(s1 !== undefined && s2 !== undefined && close(s1, s2, 1e-12), `${name} std ${s1} vs ${s2}`);
  }
});
