import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../common/errors.ts';
import { cases, close } from '../../test/fixtures/histogram/cases.ts';
import { countOnReferenceEdges, countsUnder, isReferenceEdges, linspace, referenceBin, referenceHistogram } from './histogram.ts';

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

  test(`window counts match numpy under both binnings: ${c.name}`, () => {
    const got = countOnReferenceEdges(c.paddedEdges, c.current);
    assert.deepEqual(got.counts, c.currentCountsReference, 'reference rule');
    assert.equal(got.atMax, c.currentAtMax);
    assert.deepEqual(countsUnder('mlrun', got.counts, got.atMax), c.currentCounts, 'mlrun: np.histogram(current, bins=padded edges)');
    assert.deepEqual(countsUnder('reference', got.counts, got.atMax), c.currentCountsReference);
  });

  test(`the reference values counted as a window give the reference counts: ${c.name}`, () => {
    const h = referenceHistogram(c.reference);
    assert.deepEqual(countOnReferenceEdges(h.edges, c.reference).counts, h.counts);
  });
}

test('a window value equal to the reference maximum lands in the last real bin, or under mlrun in the upper padding bin', () => {
  const h = referenceHistogram([0, 10]);
  assert.equal(h.counts[20], 1, 'reference max is in the last real bin (closed)');
  const cur = countOnReferenceEdges(h.edges, [10, 0, 10 - 1e-9, 10 + 1e-9, MAX, -MAX]);
  assert.equal(cur.atMax, 1);
  assert.equal(cur.counts[20], 2, 'the max and the value just below it');
  assert.equal(cur.counts[21], 2, 'above the max, MAX included (the last bin is closed)');
  assert.equal(cur.counts[1], 1);
  assert.equal(cur.counts[0], 1);
  const peer = countsUnder('mlrun', cur.counts, cur.atMax);
  assert.equal(peer[20], 1);
  assert.equal(peer[21], 3);
  assert.equal(referenceBin(h.edges, 10), 20);
  assert.equal(referenceBin(h.edges, 0), 1);
  assert.equal(referenceBin(h.edges, -1), 0);
  assert.equal(referenceBin(h.edges, 5), 11);
});

test('countsUnder refuses more values at the maximum than the last real bin holds', () => {
  assert.throws(() => countsUnder('mlrun', [0, 1, 0], 2), ValidationError);
  assert.throws(() => countsUnder('mlrun', [0, 1, 0], -1), ValidationError);
  assert.deepEqual(countsUnder('mlrun', [0, 1, 0], 0), [0, 1, 0]);
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

test('countOnReferenceEdges skips NaN and ±Infinity', () => {
  const edges = [-MAX, 0, 1, 2, MAX];
  const got = countOnReferenceEdges(edges, [Number.NaN, Infinity, -Infinity, -0.1, 2.1, 0, 1, 2, 2]);
  assert.deepEqual(got, { counts: [1, 1, 3, 1], atMax: 2 });
});

test('countOnReferenceEdges takes padded reference edges only', () => {
  assert.ok(isReferenceEdges([-MAX, 0, 1, MAX]));
  for (const bad of [[0, 1, 2], [-MAX, 1, MAX], [-MAX, 2, 1, MAX], [-MAX, 0, Number.NaN, 1, MAX], [-MAX, 0, 1, 2]]) {
    assert.equal(isReferenceEdges(bad), false, String(bad));
    assert.throws(() => countOnReferenceEdges(bad, [1]), ValidationError);
  }
});

test('referenceBin on repeated edges: a value on a repeated edge goes past the empty bin (numpy semantics)', () => {
  // Bins [-MAX,0), [0,1), [1,1), [1,2], [2,MAX]: 1 goes to [1,2].
  const edges = [-MAX, 0, 1, 1, 2, MAX];
  assert.deepEqual(countOnReferenceEdges(edges, [0.5, 1, 1.5, 2]).counts, [0, 1, 0, 3, 0]);
});

test('linspace ends exactly on stop', () => {
  const e = linspace(0.1, 0.7, 21);
  assert.equal(e[0], 0.1);
  assert.equal(e[20], 0.7);
});
