import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cases, close } from '../../test/fixtures/histogram/cases.ts';
import { columnStats, computeFeatureStats, currentStatsOnReference } from './feature-stats.ts';
import { summarize } from './summary.ts';
import { coerceValue, MISSING, numericText, OTHER } from './values.ts';

for (const c of cases) {
  test(`summarize matches numpy mean / std(ddof=1) / min / max: ${c.name}`, () => {
    const got = summarize(c.reference);
    const want = c.referenceSummary;
    assert.equal(got.count, want.count);
    assert.equal(got.min, want.min);
    assert.equal(got.max, want.max);
    // Tolerance relative to the data's magnitude: numpy's pairwise sum and our compensated
    // sum differ in the last bits (numpy gives std 9e-16 for a constant 3.7, we give 0).
    const scale = Math.max(Math.abs(want.min ?? 0), Math.abs(want.max ?? 0));
    for (const key of ['mean', 'std'] as const) {
      const g = got[key];
      const w = want[key];
      if (w === undefined) {
        assert.equal(g, undefined, key);
        continue;
      }
      assert.ok(g !== undefined && close(g, w, 1e-12, 1e-12 * scale), `${key}: ${g} vs ${w}`);
    }
  });
}

test('coerceValue: numbers, booleans, numeric strings, missing and others', () => {
  assert.equal(coerceValue(1.5), 1.5);
  assert.equal(coerceValue(true), 1);
  assert.equal(coerceValue(false), 0);
  assert.equal(coerceValue(12n), 12);
  assert.equal(coerceValue(' -1.5e3 '), -1500);
  assert.equal(coerceValue('.5'), 0.5);
  for (const m of [null, undefined, '', '  ', Number.NaN, Infinity, -Infinity, 'NaN', 'nan', 'NA', 'null', 'inf', '-Infinity', '1e400', new Date('x')]) {
    assert.equal(coerceValue(m), MISSING, String(m));
  }
  for (const o of ['a', '0x10', '1,000', 'true', {}, [1], new Date(0)]) assert.equal(coerceValue(o), OTHER, String(o));
  assert.equal(numericText('007'), 7);
  assert.equal(numericText('1e'), undefined);
});

test('computeFeatureStats: numeric column with missing values', () => {
  const s = computeFeatureStats({ x: [1, '2', null, '', Number.NaN, 3, Infinity, 'NA'] });
  const x = s.x;
  assert.ok(x);
  assert.equal(x.count, 3);
  assert.equal(x.missing, 5);
  assert.equal(x.mean, 2);
  assert.equal(x.std, 1);
  assert.equal(x.min, 1);
  assert.equal(x.max, 3);
  assert.equal(x.hist?.counts.length, 22);
  assert.equal(x.hist?.edges.length, 23);
  assert.equal(x.hist?.counts.reduce((a, b) => a + b, 0), 3);
  assert.equal(x.categories, undefined);
});

test('computeFeatureStats: booleans are numeric 0/1', () => {
  const s = columnStats([true, false, true, true]);
  assert.equal(s.mean, 0.75);
  assert.equal(s.hist?.counts[1], 1);
  assert.equal(s.hist?.counts[20], 3);
});

test('computeFeatureStats: one non-numeric value makes the column categorical', () => {
  const s = columnStats(['a', 'b', 'a', 1, null, 'NaN']);
  assert.equal(s.hist, undefined);
  assert.deepEqual(s, { count: 4, missing: 2, categories: { a: 2, b: 1, '1': 1 } });
  const proto = columnStats(['__proto__', 'x']);
  assert.equal(Object.getPrototypeOf(proto.categories), Object.prototype);
  assert.equal(proto.categories?.['__proto__'], 1);
});

test('computeFeatureStats: single value has no std; all-missing has only counts', () => {
  const one = columnStats([4]);
  assert.equal(one.count, 1);
  assert.equal(one.std, undefined);
  assert.equal(one.mean, 4);
  assert.deepEqual(columnStats([null, '', undefined]), { count: 0, missing: 3 });
  assert.deepEqual(columnStats([]), { count: 0, missing: 0 });
});

test('computeFeatureStats: a column named __proto__ is an own key', () => {
  const columns = JSON.parse('{"__proto__": [1, 2], "y": [3, 4]}') as Record<string, unknown[]>;
  const s = computeFeatureStats(columns);
  assert.ok(Object.hasOwn(s, '__proto__'));
  assert.equal(Object.getPrototypeOf(s), Object.prototype);
});

test('currentStatsOnReference counts on the reference edges', () => {
  const reference = computeFeatureStats({ x: [0, 5, 10], c: ['a', 'b'], allMissing: [null] });
  const cur = currentStatsOnReference(reference, {
    x: [10, 0, 'oops', null, 5],
    c: ['b', 'z', ''],
    allMissing: [1, 2],
    extra: [1, 2],
  });
  const x = cur.x;
  assert.ok(x?.hist);
  assert.deepEqual(x.hist.edges, reference.x?.hist?.edges);
  assert.notEqual(x.hist.edges, reference.x?.hist?.edges, 'edges are copied');
  assert.equal(x.hist.counts[20], 1, 'the reference max in the last real bin, where the reference has it');
  assert.equal(x.hist.counts[21], 0);
  assert.equal(x.hist.atMax, 1);
  assert.deepEqual(x.hist.counts, reference.x?.hist?.counts, 'the reference values again: the reference counts');
  assert.equal(x.hist.counts[1], 1);
  assert.equal(x.hist.counts[11], 1);
  assert.equal(x.count, 3);
  assert.equal(x.missing, 2, 'non-numeric values count as missing against a numeric reference');
  assert.deepEqual(cur.c, { count: 2, missing: 1, categories: { a: 0, b: 1 }, other: 1 }, "the reference's categories, 'z' in other");
  assert.equal(cur.allMissing?.hist, undefined);
  assert.equal(cur.allMissing?.count, 2);
  assert.equal(cur.extra?.hist, undefined);
  assert.equal(cur.extra?.mean, 1.5);
});

test('summarize stays finite for values near the double limit', () => {
  const s = summarize([1e308, 1.5e308, 1.7e308, -1e308]);
  assert.ok(Number.isFinite(s.mean));
  assert.ok(Number.isFinite(s.std));
  assert.ok(close(s.mean ?? 0, 0.8e308, 1e-12));
});
