import assert from 'node:assert/strict';
import { test } from 'node:test';
import { binOf, HistogramAccumulator, toNumber } from './histogram-accumulator.ts';

const MAX = Number.MAX_VALUE;

test('bins are [e_i, e_i+1) with only the last bin closed, as numpy counts on given edges', () => {
  const edges = [-MAX, 0, 1, 2, MAX];
  assert.equal(binOf(edges, -5), 0);
  assert.equal(binOf(edges, 0), 1);
  assert.equal(binOf(edges, 0.999), 1);
  assert.equal(binOf(edges, 1), 2);
  assert.equal(binOf(edges, 2), 3, 'the reference maximum falls in the upper padding bin');
  assert.equal(binOf(edges, MAX), 3, 'the last bin is closed');
  assert.equal(binOf([0, 1], 2), -1);
});

test('cells become numbers; missing and non-numeric values are counted apart', () => {
  assert.equal(toNumber('2.5'), 2.5);
  assert.equal(toNumber(true), 1);
  assert.equal(toNumber(''), undefined);
  assert.equal(toNumber(Number.POSITIVE_INFINITY), undefined);
  const acc = new HistogramAccumulator('p', 600_000);
  const ep = { featureNames: ['a'], labelNames: ['y'], featureStats: { a: { count: 2, missing: 0, hist: { counts: [0, 1, 1, 0], edges: [-MAX, 0, 1, 2, MAX] } } } };
  acc.add('e', 1_000, ep, [0.5], [3]);
  acc.add('e', 2_000, ep, [null], [4]);
  acc.add('e', 600_000, ep, [1.5], [5]); // next window
  const rows = acc.rows();
  const a0 = rows.find((r) => r.feature === 'a' && r.windowStart === 0)!;
  assert.deepEqual(a0.counts, [0, 1, 0, 0]);
  assert.equal(a0.count, 1);
  assert.equal(a0.missing, 1);
  assert.equal(a0.windowEnd, 600_000);
  const y0 = rows.find((r) => r.feature === 'y' && r.windowStart === 0)!;
  assert.deepEqual(y0.counts, [], 'no reference edges: moments only');
  assert.equal(y0.sum, 7);
  assert.equal(y0.sumSq, 25);
  assert.equal(rows.filter((r) => r.windowStart === 600_000).length, 2);
});
