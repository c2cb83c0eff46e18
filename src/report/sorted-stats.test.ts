import assert from 'node:assert/strict';
import { test } from 'node:test';
import { close, reportCases } from '../../test/fixtures/report/cases.ts';
import { splitNumeric } from '../stats/column-type.ts';
import { countOnReferenceEdges, referenceHistogram } from '../stats/histogram.ts';
import { wassersteinDistance } from '../stats/tests/index.ts';
import { sortFloat64 } from './sort.ts';
import { histogramMeasuresSorted, populationStd, referenceHistogramSorted, wassersteinSorted } from './sorted-stats.ts';

const numericColumns = reportCases.flatMap((c) =>
  Object.entries(c.expected.columns)
    .filter(([, e]) => e.columnType === 'numeric')
    .map(([name, e]) => ({
      id: `${c.name}/${name}`,
      expected: e,
      reference: sortFloat64(splitNumeric(c.reference[name] as unknown[]).values),
      current: sortFloat64(splitNumeric(c.current[name] as unknown[]).values),
      rawReference: splitNumeric(c.reference[name] as unknown[]).values,
      rawCurrent: splitNumeric(c.current[name] as unknown[]).values,
    })),
);

test('wassersteinSorted / max(std, 0.001) matches scipy on every fixture column using wasserstein', () => {
  const cols = numericColumns.filter((c) => c.expected.method === 'wasserstein');
  assert.ok(cols.length >= 8);
  for (const c of cols) {
    const got = wassersteinSorted(c.reference, c.current) / Math.max(populationStd(c.reference), 0.001);
    assert.ok(close(got, c.expected.score), `${c.id}: ${got} vs ${c.expected.score}`);
  }
});

test('wassersteinSorted equals the engine wassersteinDistance (which sorts its own copies)', () => {
  for (const c of numericColumns.slice(0, 40)) {
    const want = wassersteinDistance(c.rawReference, c.rawCurrent);
    const got = wassersteinSorted(c.reference, c.current);
    assert.ok(close(got, want, 1e-12, 1e-15), `${c.id}: ${got} vs ${want}`);
  }
  assert.equal(wassersteinSorted(new Float64Array([1, 2]), new Float64Array(0)), 0);
  assert.equal(wassersteinSorted(new Float64Array([0]), new Float64Array([3])), 3);
});

test('sorted 22-bin histograms equal referenceHistogram / countOnReferenceEdges, and the measures match numpy', () => {
  for (const c of numericColumns) {
    const want = referenceHistogram(c.rawReference);
    const got = referenceHistogramSorted(c.reference);
    assert.deepEqual(got, want, c.id);
    const m = histogramMeasuresSorted(c.reference, c.current);
    assert.deepEqual(m.currentCounts, countOnReferenceEdges(want.edges, c.rawCurrent).counts, c.id);
    for (const k of ['tvd', 'hellinger', 'kld'] as const) {
      assert.ok(close(m[k], c.expected.histogram[k]), `${c.id} ${k}: ${m[k]} vs ${c.expected.histogram[k]}`);
    }
  }
});

test('populationStd is numpy std (ddof 0)', () => {
  assert.equal(populationStd(new Float64Array([2, 4, 4, 4, 5, 5, 7, 9])), 2);
  assert.equal(populationStd(new Float64Array([1e9 + 1, 1e9 + 1])), 0);
  assert.ok(Number.isNaN(populationStd(new Float64Array(0))));
});
