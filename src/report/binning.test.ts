import assert from 'node:assert/strict';
import { test } from 'node:test';
import { binningCases, sturgesCases } from '../../test/fixtures/report/cases.ts';
import {
  countDistinctSorted,
  countDistinctUnion,
  countOnEqualWidthEdges,
  countSortedOnEdges,
  distinctBins,
  equalWidthEdges,
  sturgesBinCount,
  sturgesEdges,
} from '../stats/binning.ts';
import { linspace } from '../stats/histogram.ts';

const sorted = (xs: readonly number[]): Float64Array => Float64Array.from(xs).sort();

for (const c of sturgesCases) {
  test(`sturgesEdges = np.histogram_bin_edges(x, 'sturges'): n=${c.n} [${c.min}, ${c.max}] ${c.integer ? 'int' : 'float'}`, () => {
    const edges = sturgesEdges(c.min, c.max, c.n, c.integer);
    assert.equal(edges.length, c.edges.length, `bins: ${sturgesBinCount(c.min, c.max, c.n, c.integer)}`);
    // linspace is the same arithmetic as numpy's: bit for bit.
    assert.deepEqual(Array.from(edges), c.edges);
  });
}

test('integer dtype raises a Sturges width below 1 to 1 (fewer bins)', () => {
  assert.equal(sturgesBinCount(0, 21, 2 ** 21, true), 21);
  assert.equal(sturgesBinCount(0, 21, 2 ** 21, false), 22);
  assert.equal(sturgesBinCount(5, 5, 1000, true), 1, 'constant data: one bin');
  assert.equal(sturgesBinCount(0, 1, 0), 1, 'no data: one bin over (0, 1)');
  assert.deepEqual(Array.from(sturgesEdges(0, 0, 0)), [0, 1]);
});

for (const c of binningCases) {
  test(`np.histogram(x, sturges edges) with values on edges: ${c.name}`, () => {
    const ref = sorted(c.reference);
    const cur = sorted(c.current);
    const min = Math.min(ref[0] as number, cur[0] as number);
    const max = Math.max(ref[ref.length - 1] as number, cur[cur.length - 1] as number);
    // The fixture's current values include the edges themselves, so min/max come from the reference ∪ original current.
    const edges = Float64Array.from(c.edges);
    assert.deepEqual(Array.from(countSortedOnEdges(ref, edges)), c.referenceCounts);
    assert.deepEqual(Array.from(countSortedOnEdges(cur, edges)), c.currentCounts);
    // numpy's equal-width fast path (scaled index, corrected) gives the same counts unsorted.
    assert.deepEqual(Array.from(countOnEqualWidthEdges(c.reference, edges)), c.referenceCounts);
    assert.deepEqual(Array.from(countOnEqualWidthEdges(c.current, edges)), c.currentCounts);
    assert.ok(min <= (edges[0] as number) && max >= (edges[edges.length - 1] as number));
  });
}

test('countSortedOnEdges: [e_i, e_i+1), last bin closed, outside values not counted', () => {
  const edges = [0, 1, 2, 3];
  assert.deepEqual(Array.from(countSortedOnEdges(sorted([-1, 0, 0.5, 1, 1, 2, 2.999, 3, 4]), edges)), [2, 2, 3]);
  assert.deepEqual(Array.from(countOnEqualWidthEdges([-1, 0, 0.5, 1, 1, 2, 2.999, 3, 4, Number.NaN], Float64Array.from(edges))), [2, 2, 3]);
});

test('equalWidthEdges is np.histogram_bin_edges(x, bins=n) (fixed-count binning)', () => {
  assert.deepEqual(Array.from(equalWidthEdges(0, 10, 5, 4)), linspace(0, 10, 5));
  assert.deepEqual(Array.from(equalWidthEdges(2, 2, 3, 2)), [1.5, 2, 2.5]);
  assert.throws(() => equalWidthEdges(0, 1, 1, 0), /whole number/);
  assert.throws(() => equalWidthEdges(1, 1 + 2 ** -52, 2, 1000), /too many bins/);
});

test('distinct counting and one bin per distinct value', () => {
  const a = sorted([3, 1, 1, 2, 2, 2, -0, 0]);
  const b = sorted([2, 5, 5, 0]);
  assert.equal(countDistinctSorted(a), 4);
  assert.equal(countDistinctUnion(a, b), 5);
  assert.equal(countDistinctUnion(a, b, 2), 3, 'stops once above the limit');
  const bins = distinctBins(a, b);
  assert.deepEqual(Array.from(bins.values), [-0, 1, 2, 3, 5]);
  assert.deepEqual(Array.from(bins.reference), [2, 2, 3, 1, 0]);
  assert.deepEqual(Array.from(bins.current), [1, 0, 1, 0, 2]);
  assert.equal(countDistinctUnion(new Float64Array(0), new Float64Array(0)), 0);
});
