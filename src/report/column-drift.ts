/**
 * Drift of one column from its prepared values: numeric columns sorted once and shared by
 * every statistic, categorical columns as category counts.
 */
import { ValidationError } from '../common/errors.ts';
import { countDistinctUnion, countSortedOnEdges, distinctBins, sturgesEdges, toShares } from '../stats/binning.ts';
import type { ColumnType } from '../stats/column-type.ts';
import { histogramDistances, type HistogramDistances } from '../stats/histogram-distance.ts';
import {
  andersonKSamp,
  cramerVonMises2,
  energyDistance,
  jensenShannonDistance,
  ks2samp,
  mannWhitneyU,
  welchTTest,
} from '../stats/tests/index.ts';
import { binnedScore, type Score } from './binned.ts';
import { defaultMethod, isDrifted, METHODS, type DriftMethod } from './methods.ts';
import { histogramMeasuresSorted, populationStd, wassersteinSorted } from './sorted-stats.ts';
import type { ColumnBins, ColumnDrift } from './types.ts';

/** A numeric column ready for tests: present values of each side, sorted ascending. */
export interface NumericSides {
  reference: Float64Array;
  current: Float64Array;
  /** numpy would see an integer dtype (see `sturgesBinCount`). */
  integerDtype: boolean;
}

/** A categorical column ready for tests: counts per category of each side. */
export interface CategoricalSides {
  reference: Map<string, number>;
  current: Map<string, number>;
  referenceTotal: number;
  currentTotal: number;
}

/** Per-column choices. */
export interface ColumnChoice {
  method?: DriftMethod | undefined;
  threshold?: number | undefined;
  bins: boolean;
}

/** Column drift without the fields the caller fills in (missing counts). */
export type ColumnOutcome = Omit<ColumnDrift, 'missing'>;

/** Reference distinct values above which numeric shares use Sturges bins (Evidently: 20). */
export const DISTINCT_BIN_LIMIT = 20;
/** Most bars a chart shows for values (categories beyond are summed as "other"). */
const CHART_VALUES = 20;

/** Bins of a numeric column: equal-width edges, or one bin per distinct value. */
export interface ShareBins {
  edges?: Float64Array;
  values?: Float64Array;
  reference: Float64Array;
  current: Float64Array;
}

/** Bins of a numeric column for share-based methods: Sturges over reference ∪ current, or one per distinct value. */
export function numericShareBins(sides: NumericSides): ShareBins {
  const { reference, current } = sides;
  if (countDistinctSortedAbove(reference, DISTINCT_BIN_LIMIT)) return sturgesBins(sides);
  const bins = distinctBins(reference, current);
  return { values: bins.values, reference: bins.reference, current: bins.current };
}

function sturgesBins(sides: NumericSides): ShareBins {
  const { reference, current } = sides;
  const min = Math.min(reference[0] as number, current[0] as number);
  const max = Math.max(reference[reference.length - 1] as number, current[current.length - 1] as number);
  const edges = sturgesEdges(min, max, reference.length + current.length, sides.integerDtype);
  return { edges, reference: countSortedOnEdges(reference, edges), current: countSortedOnEdges(current, edges) };
}

function countDistinctSortedAbove(sorted: Float64Array, limit: number): boolean {
  let distinct = sorted.length > 0 ? 1 : 0;
  for (let i = 1; i < sorted.length && distinct <= limit; i++) if (sorted[i] !== sorted[i - 1]) distinct++;
  return distinct > limit;
}

/** Drift of a numeric column (both sides non-empty and sorted). */
export function numericColumnDrift(sides: NumericSides, choice: ColumnChoice): ColumnOutcome {
  const { reference, current } = sides;
  const distinct = countDistinctUnion(reference, current);
  const method = choice.method ?? defaultMethod('numeric', reference.length, distinct);
  const shareBins = numericShareBins(sides);
  let score: Score;
  switch (method) {
    case 'ks': {
      const r = ks2samp(reference, current);
      score = { score: r.pValue, statistic: r.statistic };
      break;
    }
    case 'wasserstein':
      score = { score: wassersteinSorted(reference, current) / Math.max(populationStd(reference), 0.001) };
      break;
    case 'anderson': {
      const r = andersonKSamp([reference, current]);
      score = { score: r.pValue, statistic: r.statistic };
      break;
    }
    case 'cramer_von_mises': {
      const r = cramerVonMises2(reference, current);
      score = { score: r.pValue, statistic: r.statistic };
      break;
    }
    case 'energy':
      score = { score: energyDistance(reference, current) };
      break;
    case 'mannwhitney': {
      const r = mannWhitneyU(reference, current);
      score = { score: r.pValue, statistic: r.statistic };
      break;
    }
    case 't_test': {
      const r = welchTTest(reference, current);
      score = { score: r.pValue, statistic: r.statistic };
      break;
    }
    case 'chisquare':
    case 'z':
      // Evidently counts values (value_counts), however many there are.
      score = binnedScore(method, shareBins.values ? shareBins : distinctBins(reference, current));
      break;
    default:
      score = binnedScore(method, shareBins);
  }
  const histogram = histogramMeasuresSorted(reference, current);
  const out = outcome('numeric', method, score, choice.threshold, distinct, reference.length, current.length, {
    tvd: histogram.tvd,
    hellinger: histogram.hellinger,
    kld: histogram.kld,
  });
  out.jensenShannon = jensenShannonDistance(toShares(shareBins.reference, reference.length), toShares(shareBins.current, current.length));
  if (choice.bins) out.bins = chartBins(sides, shareBins);
  return out;
}

/** Chart bins of a numeric column: the share bins when few, else Sturges bins. */
function chartBins(sides: NumericSides, shareBins: ShareBins): ColumnBins {
  const bins = shareBins.values && shareBins.values.length > CHART_VALUES ? sturgesBins(sides) : shareBins;
  if (bins.edges) return { kind: 'edges', edges: Array.from(bins.edges), reference: Array.from(bins.reference), current: Array.from(bins.current) };
  return { kind: 'values', labels: Array.from(bins.values ?? [], String), reference: Array.from(bins.reference), current: Array.from(bins.current) };
}

/** Drift of a categorical column (both sides with values). */
export function categoricalColumnDrift(sides: CategoricalSides, choice: ColumnChoice): ColumnOutcome {
  const keys = [...new Set([...sides.reference.keys(), ...sides.current.keys()])].sort(compareKeys);
  const reference = keys.map((k) => sides.reference.get(k) ?? 0);
  const current = keys.map((k) => sides.current.get(k) ?? 0);
  const method = choice.method ?? defaultMethod('categorical', sides.referenceTotal, keys.length);
  if (METHODS[method].numericOnly) {
    throw new ValidationError(`method '${method}' needs a numeric column; use chisquare, z, jensenshannon, psi, kl, hellinger or tvd`);
  }
  const score = binnedScore(method, { reference, current });
  const histogram = histogramDistances(current, reference);
  const out = outcome('categorical', method, score, choice.threshold, keys.length, sides.referenceTotal, sides.currentTotal, histogram);
  out.jensenShannon = jensenShannonDistance(toShares(reference, sides.referenceTotal), toShares(current, sides.currentTotal));
  if (choice.bins) out.bins = categoryChart(keys, reference, current);
  return out;
}

/** Category order: Evidently sorts keys; numbers-as-text sort numerically when all keys are numbers. */
function compareKeys(a: string, b: string): number {
  const x = Number(a);
  const y = Number(b);
  if (a !== '' && b !== '' && !Number.isNaN(x) && !Number.isNaN(y) && x !== y) return x - y;
  return a < b ? -1 : a > b ? 1 : 0;
}

function categoryChart(keys: string[], reference: number[], current: number[]): ColumnBins {
  if (keys.length <= CHART_VALUES) return { kind: 'values', labels: keys, reference, current };
  const order = keys.map((_, i) => i).sort((i, j) => (reference[j] as number) + (current[j] as number) - ((reference[i] as number) + (current[i] as number)));
  const top = order.slice(0, CHART_VALUES);
  const rest = order.slice(CHART_VALUES);
  const sum = (xs: number[], idx: number[]): number => idx.reduce((s, i) => s + (xs[i] as number), 0);
  return {
    kind: 'values',
    labels: top.map((i) => keys[i] as string),
    reference: top.map((i) => reference[i] as number),
    current: top.map((i) => current[i] as number),
    other: { reference: sum(reference, rest), current: sum(current, rest), labels: rest.length },
  };
}

function outcome(
  columnType: ColumnType,
  method: DriftMethod,
  score: Score,
  threshold: number | undefined,
  distinct: number,
  nRef: number,
  nCur: number,
  histogram: HistogramDistances,
): ColumnOutcome {
  const t = threshold ?? METHODS[method].threshold;
  const out: ColumnOutcome = {
    columnType,
    method,
    score: score.score,
    threshold: t,
    drifted: isDrifted(method, score.score, t),
    histogram,
    count: { reference: nRef, current: nCur },
    distinct,
  };
  if (score.statistic !== undefined && Number.isFinite(score.statistic)) out.statistic = score.statistic;
  return out;
}
