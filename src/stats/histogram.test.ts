import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../common/errors.ts';
import { cases, close } from '../../test/fixtures/histogram/cases.ts';
import { countOnEdges, linspace, referenceHistogram } from './histogram.ts';

const MAX = Number.MAX_VALUE;

test('fixture has the expected cases', () => {
  assert.ok(cases.length >= 20);
  const big = cases.find((c) => c.name === 'large_generated');
  assert.equal(big?.reference.length, 100_000);
  // The regenerated stream must be the one numpy binned (same min and max bit for bit).
  const values = big?.reference ?? [];
  assert.equal(values.reduce((a, b) => Math.min(a, b), Infinity), big?.referenceSummary.min);
  assert.equal(values.reduce((a, b) => Math.max(a, b), -Infinity), big?.referenceSummary.max);
});

for (const c of cases) {
  test(`referenceHistogram matches np.histogram(bins=20): ${c.name}`, () => {
    const h = referenceHistogram(c.reference);
    assert.deepEqual(h.counts, c.paddedReferenceCounts);
    assert.equal(h.edges.length, 23);
    for (let i = 0; i < h.edges.length; i++) {
      const got = h.edges[i] as number;
      const want = c.paddedEdges[i] as number;
      assert.ok(close(got, want, 1e-12), `edge ${i}: ${got} vs ${want}`);
    }
  });

  test(`countOnEdges matches np.histogram(bins=padded edges): ${c.name}`, () => {
    assert.deepEqual(countOnEdges(c.paddedEdges, c.current), c.currentCounts);
    // The general (searchsorted) path agrees with numpy's equal-width path on the raw edges.
    assert.deepEqual(countOnEdges(c.referenceHist.edges, c.reference), c.referenceHist.counts);
  });
}

test('countOnEdges accumulates into running counts', () => {
  const c = cases.find((x) => x.name === 'normal');
  assert.ok(c);
  const half = Math.floor(c.current.length / 2);
  const running = countOnEdges(c.paddedEdges, c.current.slice(0, half));
  const same = countOnEdges(c.paddedEdges, c.current.slice(half), running);
  assert.equal(same, running);
  assert.deepEqual(running, c.currentCounts);
});

test('a current value equal to the reference max lands in the upper padding bin', () => {
  const h = referenceHistogram([0, 10]);
  assert.equal(h.counts[20], 1, 'reference max is in the last real bin (closed)');
  const cur = countOnEdges(h.edges, [10, 0, 10 - 1e-9]);
  assert.equal(cur[21], 1);
  assert.equal(cur[1], 1);
  assert.equal(cur[20], 1);
});

test('referenceHistogram: empty input uses range (0, 1) like numpy', () => {
  const h = referenceHistogram([]);
  assert.deepEqual(h.counts, new Array(22).fill(0));
  assert.deepEqual(h.edges, [-MAX, ...linspace(0, 1, 21), MAX]);
  assert.equal(h.edges[1], 0);
  assert.equal(h.edges[21], 1);
});

test('referenceHistogram: constant column widens by 0.5 each side', () => {
  const h = referenceHistogram(new Float64Array([2, 2, 2]));
  assert.equal(h.edges[1], 1.5);
  assert.equal(h.edges[21], 2.5);
  assert.equal(h.counts[11], 3, 'numpy puts a constant in bin 10 of 20');
});

test('referenceHistogram rejects non-finite values and overflowing ranges', () => {
  assert.throws(() => referenceHistogram([1, Number.NaN]), ValidationError);
  assert.throws(() => referenceHistogram([1, Infinity]), ValidationError);
  assert.throws(() => referenceHistogram([-MAX, MAX]), ValidationError);
});

test('countOnEdges skips NaN and ±Infinity, and values outside the edges', () => {
  const counts = countOnEdges([0, 1, 2], [Number.NaN, Infinity, -Infinity, -0.1, 2.1, 0, 1, 2, 2]);
  assert.deepEqual(counts, [1, 3]);
});

test('countOnEdges validates edges and running counts', () => {
  assert.throws(() => countOnEdges([1], [1]), ValidationError);
  assert.throws(() => countOnEdges([0, 2, 1], [1]), ValidationError);
  assert.throws(() => countOnEdges([0, Number.NaN, 1], [1]), ValidationError);
  assert.throws(() => countOnEdges([0, 1, 2], [1], [0]), ValidationError);
});

test('countOnEdges with repeated edges: the empty bin stays empty (numpy semantics)', () => {
  // Bins [0,1), [1,1), [1,2]: 1 goes to [1,2].
  assert.deepEqual(countOnEdges([0, 1, 1, 2], [0.5, 1, 1.5, 2]), [1, 0, 3]);
  // Repeated last edge: the last bin [2,2] is closed and gets the 2s.
  assert.deepEqual(countOnEdges([0, 2, 2], [1, 2, 2]), [1, 2]);
});

test('linspace ends exactly on stop', () => {
  const e = linspace(0.1, 0.7, 21);
  assert.equal(e[0], 0.1);
  assert.equal(e[20], 0.7);
});
