import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../common/errors.ts';
import type { FeatureStatsMap } from '../common/types.ts';
import { cases, close, driftCases } from '../../test/fixtures/histogram/cases.ts';
import { histogramDrift } from '../apps/histogram-drift-core.ts';
import { computeFeatureStats, currentStatsOnReference } from './feature-stats.ts';

const byName = new Map(cases.map((c) => [c.name, c]));

for (const d of driftCases) {
  test(`histogramDrift matches the numpy aggregates: ${d.name}`, () => {
    // Through the public pipeline: raw values -> reference stats -> counts on reference edges.
    const refColumns: Record<string, number[]> = {};
    const curColumns: Record<string, number[]> = {};
    for (const f of d.features) {
      const c = byName.get(f);
      assert.ok(c);
      refColumns[f] = c.reference;
      curColumns[f] = c.current;
    }
    const reference = computeFeatureStats(refColumns);
    const currentStats = currentStatsOnReference(reference, curColumns);
    const current: Record<string, number[]> = {};
    for (const [f, s] of Object.entries(currentStats)) current[f] = s.hist?.counts ?? [];

    const r = histogramDrift(reference, current);
    assert.deepEqual(Object.keys(r.features), d.features);
    assert.deepEqual(r.skipped, {});
    assert.ok(close(r.hellingerMean, d.hellingerMean, 1e-9), `hellinger ${r.hellingerMean} vs ${d.hellingerMean}`);
    assert.ok(close(r.kldMean, d.kldMean, 1e-9), `kld ${r.kldMean} vs ${d.kldMean}`);
    assert.ok(close(r.tvdMean, d.tvdMean, 1e-9), `tvd ${r.tvdMean} vs ${d.tvdMean}`);
    assert.ok(close(r.generalDrift, d.generalDrift, 1e-9));
    assert.equal(r.status, d.status);
  });
}

const ref: FeatureStatsMap = {
  a: { count: 4, missing: 0, hist: { counts: [0, 2, 2, 0], edges: [-Number.MAX_VALUE, 0, 1, 2, Number.MAX_VALUE] } },
  b: { count: 4, missing: 0, hist: { counts: [0, 4, 0, 0], edges: [-Number.MAX_VALUE, 0, 1, 2, Number.MAX_VALUE] } },
  cat: { count: 2, missing: 0, categories: { x: 2 } },
  empty: { count: 0, missing: 3, hist: { counts: [0, 0, 0, 0], edges: [-Number.MAX_VALUE, 0, 1, 2, Number.MAX_VALUE] } },
};

test('histogramDrift compares only features with a reference hist and current counts', () => {
  const r = histogramDrift(ref, { a: [0, 1, 1, 0], cat: [1], extra: [1, 2, 3, 4], b: [0, 0, 0, 0], empty: [0, 1, 0, 0] });
  assert.deepEqual(Object.keys(r.features), ['a']);
  assert.deepEqual(r.skipped, { b: 'no current data', empty: 'empty reference' });
  assert.equal(r.generalDrift, 0);
  assert.equal(r.status, 0);
});

test('histogramDrift with nothing to compare returns zeros', () => {
  const r = histogramDrift(ref, {});
  assert.deepEqual(r.features, {});
  assert.equal(r.hellingerMean, 0);
  assert.equal(r.kldMean, 0);
  assert.equal(r.tvdMean, 0);
  assert.equal(r.generalDrift, 0);
  assert.equal(r.status, 0);
});

test('histogramDrift status follows the thresholds (>=)', () => {
  // a vs [0,0,4,0]: tvd 0.5, hellinger sqrt(1 - sqrt(0.5)) ≈ 0.541 → general ≈ 0.52.
  const r = histogramDrift(ref, { a: [0, 0, 4, 0] });
  assert.ok(r.generalDrift > 0.5 && r.generalDrift < 0.7);
  assert.equal(r.status, 1);
  assert.equal(histogramDrift(ref, { a: [0, 0, 4, 0] }, { potentialThreshold: 0.1, detectedThreshold: 0.2 }).status, 2);
  assert.equal(histogramDrift(ref, { a: [0, 0, 4, 0] }, { potentialThreshold: 0.6, detectedThreshold: 0.9 }).status, 0);
  const g = r.generalDrift;
  assert.equal(histogramDrift(ref, { a: [0, 0, 4, 0] }, { potentialThreshold: g, detectedThreshold: 1 }).status, 1);
  assert.equal(histogramDrift(ref, { a: [0, 0, 4, 0] }, { potentialThreshold: 0, detectedThreshold: g }).status, 2);
});

test('histogramDrift validates thresholds and count lengths', () => {
  const bad = [
    { potentialThreshold: -0.1 },
    { detectedThreshold: 1.1 },
    { potentialThreshold: 0.8, detectedThreshold: 0.7 },
    { potentialThreshold: Number.NaN },
  ];
  for (const opts of bad) assert.throws(() => histogramDrift(ref, {}, opts), ValidationError);
  assert.doesNotThrow(() => histogramDrift(ref, {}, { potentialThreshold: 0.6, detectedThreshold: 0.6 }));
  assert.throws(() => histogramDrift(ref, { a: [1, 2] }), ValidationError);
});
