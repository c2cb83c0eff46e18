import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../common/errors.ts';
import type { FeatureStatsMap } from '../common/types.ts';
import { categoricalCases, cases, close, driftCases, mixedDriftCases, type DriftAggregate } from '../../test/fixtures/histogram/cases.ts';
import { histogramDrift, type HistogramDriftResult } from '../apps/histogram-drift-core.ts';
import { computeFeatureStats, currentStatsOnReference } from './feature-stats.ts';

const byName = new Map(cases.map((c) => [c.name, c]));
const byCategorical = new Map(categoricalCases.map((c) => [c.name, c]));

function assertAggregate(r: HistogramDriftResult, want: DriftAggregate): void {
  assert.ok(close(r.hellingerMean, want.hellingerMean, 1e-9), `hellinger ${r.hellingerMean} vs ${want.hellingerMean}`);
  assert.ok(close(r.kldMean, want.kldMean, 1e-9), `kld ${r.kldMean} vs ${want.kldMean}`);
  assert.ok(close(r.tvdMean, want.tvdMean, 1e-9), `tvd ${r.tvdMean} vs ${want.tvdMean}`);
  assert.ok(close(r.generalDrift, want.generalDrift, 1e-9));
  assert.equal(r.status, want.status);
}

/** Reference and window stats of named cases, through the public pipeline: raw values → reference stats → window stats. */
function stats(numeric: readonly string[], categorical: readonly string[] = []): { reference: FeatureStatsMap; current: FeatureStatsMap } {
  const ref: Record<string, unknown[]> = {};
  const cur: Record<string, unknown[]> = {};
  for (const f of numeric) {
    const c = byName.get(f);
    assert.ok(c, f);
    ref[f] = c.reference;
    cur[f] = c.current;
  }
  for (const f of categorical) {
    const c = byCategorical.get(f);
    assert.ok(c, f);
    ref[f] = c.reference;
    cur[f] = c.current;
  }
  const reference = computeFeatureStats(ref);
  return { reference, current: currentStatsOnReference(reference, cur) };
}

for (const d of driftCases) {
  test(`histogramDrift matches the numpy aggregates under both binnings: ${d.name}`, () => {
    const { reference, current } = stats(d.features);
    const mlrun = histogramDrift(reference, current, { binning: 'mlrun' });
    assert.deepEqual(Object.keys(mlrun.features), d.features);
    assert.deepEqual(mlrun.skipped, {});
    assertAggregate(mlrun, d);
    const def = histogramDrift(reference, current);
    assert.deepEqual(Object.keys(def.features), d.features);
    assertAggregate(def, d.reference);
  });
}

for (const c of cases) {
  test(`histogramDrift per feature matches numpy under both binnings: ${c.name}`, () => {
    const { reference, current } = stats([c.name]);
    for (const [binning, want] of [['mlrun', c.distances], ['reference', c.distancesReference]] as const) {
      const r = histogramDrift(reference, current, { binning });
      const got = r.features[c.name];
      if (want === null) {
        assert.equal(got, undefined);
        assert.equal(r.skipped[c.name], 'no values in the reference');
        continue;
      }
      assert.ok(got, binning);
      for (const k of ['tvd', 'hellinger', 'kld'] as const) assert.ok(close(got[k], want[k], 1e-9, 1e-15), `${binning} ${k}: ${got[k]} vs ${want[k]}`);
    }
  });
}

for (const c of categoricalCases) {
  test(`categorical measures match numpy/scipy: ${c.name}`, () => {
    const { reference, current } = stats([], [c.name]);
    const r = histogramDrift(reference, current);
    if (c.distances === null) {
      assert.deepEqual(r.features, {});
      assert.deepEqual(r.skipped, { [c.name]: 'no values in the window' });
      return;
    }
    const got = r.features[c.name];
    assert.ok(got);
    for (const k of ['tvd', 'hellinger', 'kld'] as const) assert.ok(close(got[k], c.distances[k], 1e-12, 1e-15), `${k}: ${got[k]} vs ${c.distances[k]}`);
    const peer = histogramDrift(reference, current, { binning: 'mlrun' });
    assert.deepEqual(peer.features, {});
    assert.deepEqual(peer.skipped, { [c.name]: 'categorical: not compared under binning mlrun' });
  });
}

for (const m of mixedDriftCases) {
  test(`numeric and categorical features enter the means together: ${m.name}`, () => {
    const { reference, current } = stats(m.numeric, m.categorical);
    const def = histogramDrift(reference, current);
    assert.deepEqual(Object.keys(def.features), [...m.numeric, ...m.categorical]);
    assertAggregate(def, m.reference);
    const peer = histogramDrift(reference, current, { binning: 'mlrun' });
    assert.deepEqual(Object.keys(peer.features), m.numeric);
    assertAggregate(peer, m.mlrun);
  });
}

test('identical reference and window give 0 for every measure of every feature, integer and categorical ones included', () => {
  // Every fixture column as its own window (the reference rule), plus integers at their max and strings.
  const columns: Record<string, unknown[]> = {
    cylinders: [4, 4, 6, 8, 8, 8, 3, 5, 8, 4],
    year: [70, 71, 72, 82, 82, 76, 70],
    flag: [true, false, false, true],
    origin: ['USA', 'Japan', 'USA', 'Europe', 'USA', null],
    numericText: ['4', '6', '8', '8', ''],
  };
  for (const c of cases) if (c.reference.length > 0) columns[c.name] = c.reference;
  for (const c of categoricalCases) columns[c.name] = c.reference;
  const reference = computeFeatureStats(columns);
  const current = currentStatsOnReference(reference, columns);
  const r = histogramDrift(reference, current);
  assert.deepEqual(r.skipped, {});
  assert.deepEqual(Object.keys(r.features), Object.keys(columns));
  for (const [name, m] of Object.entries(r.features)) assert.deepEqual(m, { tvd: 0, hellinger: 0, kld: 0 }, name);
  assert.equal(r.generalDrift, 0);
  assert.ok(reference.origin?.categories && reference.numericText?.hist, 'one categorical column, and numeric text is numeric');
  // The peer's rule does not give 0 on integer features at their maximum.
  assert.ok((histogramDrift(reference, current, { binning: 'mlrun' }).features.cylinders?.hellinger ?? 0) > 0.3);
});

const ref: FeatureStatsMap = {
  a: { count: 4, missing: 0, hist: { counts: [0, 2, 2, 0], edges: [-Number.MAX_VALUE, 0, 1, 2, Number.MAX_VALUE] } },
  b: { count: 4, missing: 0, hist: { counts: [0, 4, 0, 0], edges: [-Number.MAX_VALUE, 0, 1, 2, Number.MAX_VALUE] } },
  cat: { count: 2, missing: 0, categories: { x: 2 } },
  empty: { count: 0, missing: 3, hist: { counts: [0, 0, 0, 0], edges: [-Number.MAX_VALUE, 0, 1, 2, Number.MAX_VALUE] } },
  none: { count: 0, missing: 3 },
  gone: { count: 4, missing: 0, hist: { counts: [0, 4, 0, 0], edges: [-Number.MAX_VALUE, 0, 1, 2, Number.MAX_VALUE] } },
};

/** Window stats of a numeric feature from its counts. */
function counts(c: number[], atMax = 0): FeatureStatsMap[string] {
  const n = c.reduce((s, x) => s + x, 0);
  return { count: n, missing: n === 0 ? 2 : 0, hist: { counts: c, edges: [], atMax } };
}

test('histogramDrift compares what it can and lists every other reference feature with the reason', () => {
  const r = histogramDrift(ref, {
    a: counts([0, 1, 1, 0]),
    cat: { count: 3, missing: 0, categories: { x: 3 }, other: 0 },
    extra: counts([1, 2, 3, 4]),
    b: counts([0, 0, 0, 0]),
    empty: counts([0, 1, 0, 0]),
    none: { count: 5, missing: 0 },
  });
  assert.deepEqual(Object.keys(r.features), ['a', 'cat']);
  assert.deepEqual(r.skipped, {
    b: 'no values in the window',
    empty: 'no values in the reference',
    none: 'no values in the reference',
    gone: 'not in the window',
  });
  assert.equal(r.generalDrift, 0);
  assert.equal(r.status, 0);
  const noCounts = histogramDrift(ref, { a: { count: 3, missing: 0 }, cat: { count: 3, missing: 0 } });
  assert.equal(noCounts.skipped.a, 'no window counts on the reference edges');
  assert.equal(noCounts.skipped.cat, 'no category counts in the window');
});

test('a categorical window: values the reference never saw are one "other" bin, zero-scaled in KL', () => {
  const r = histogramDrift({ cat: { count: 4, missing: 0, categories: { x: 2, y: 2 } } }, { cat: { count: 4, missing: 0, categories: { x: 2, y: 0, z: 1 }, other: 1 } });
  // p = [2/4, 0, 2/4 other], q = [1/2, 1/2, 0].
  const m = r.features.cat;
  assert.ok(m);
  assert.ok(close(m.tvd, 0.5, 1e-15));
  assert.ok(close(m.hellinger, Math.sqrt(1 - 0.5), 1e-15));
  assert.ok(close(m.kld, 0.5 * Math.log(0.5 / 1e-4) + 0.5 * Math.log(0.5 / 1e-4), 1e-12));
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
  const cur = { a: counts([0, 0, 4, 0]) };
  const r = histogramDrift(ref, cur);
  assert.ok(r.generalDrift > 0.5 && r.generalDrift < 0.7);
  assert.equal(r.status, 1);
  assert.equal(histogramDrift(ref, cur, { potentialThreshold: 0.1, detectedThreshold: 0.2 }).status, 2);
  assert.equal(histogramDrift(ref, cur, { potentialThreshold: 0.6, detectedThreshold: 0.9 }).status, 0);
  const g = r.generalDrift;
  assert.equal(histogramDrift(ref, cur, { potentialThreshold: g, detectedThreshold: 1 }).status, 1);
  assert.equal(histogramDrift(ref, cur, { potentialThreshold: 0, detectedThreshold: g }).status, 2);
});

test('mlrun moves the values at the reference maximum to the upper padding bin', () => {
  const same = histogramDrift(ref, { a: counts([0, 2, 2, 0], 1) });
  assert.deepEqual(same.features.a, { tvd: 0, hellinger: 0, kld: 0 });
  const peer = histogramDrift(ref, { a: counts([0, 2, 2, 0], 1) }, { binning: 'mlrun' });
  assert.ok(close(peer.features.a?.tvd ?? 0, 0.25, 1e-15), 'one of four values moved out of a bin the reference has');
});

test('histogramDrift validates thresholds, count lengths and what mlrun needs', () => {
  const bad = [
    { potentialThreshold: -0.1 },
    { detectedThreshold: 1.1 },
    { potentialThreshold: 0.8, detectedThreshold: 0.7 },
    { potentialThreshold: Number.NaN },
  ];
  for (const opts of bad) assert.throws(() => histogramDrift(ref, {}, opts), ValidationError);
  assert.doesNotThrow(() => histogramDrift(ref, {}, { potentialThreshold: 0.6, detectedThreshold: 0.6 }));
  assert.throws(() => histogramDrift(ref, { a: counts([1, 2]) }), ValidationError);
  assert.throws(() => histogramDrift(ref, { a: { count: 2, missing: 0, hist: { counts: [0, 1, 1, 0], edges: [] } } }, { binning: 'mlrun' }), /atMax/);
  assert.throws(() => histogramDrift(ref, { a: counts([0, 1, 1, 0], 2) }, { binning: 'mlrun' }), ValidationError);
});
