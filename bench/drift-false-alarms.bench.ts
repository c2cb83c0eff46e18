/**
 * `drift-false-alarms` benchmark (issue 22): how often the built-in drift apps report drift on
 * traffic like the training data, and how often they report a shifted population, on two public
 * data sets (vega-datasets `cars` and `penguins`).
 *
 * For each seed 1..`--seeds` (default 200) and data set: a seeded random 60% of the rows is the
 * training set, the held-out rows are cut into two windows (traffic like training), and two windows
 * of a shifted population (cars over 3,600 lbs; penguins with flippers over 210 mm, drawn in the
 * seed's order). Each window goes through the engines of the two apps with their default options,
 * the columns being the model's features and its label (the held-out rows' own labels, as a model
 * that predicts well would answer):
 * - `histogram-data-drift`: reference stats of the training set, window counts on them, and
 *   `general_drift`; a window is flagged at `potential_detection` or above;
 * - `data-drift-report`: the report engine on the training rows and the window rows; flagged when
 *   `dataset_drift` is detected.
 * Baseline, in the same run: `histogram-data-drift` with `binning: 'mlrun'` (the peer's rule).
 * Headline: the share of like-training windows flagged by the worse of the two apps (target ≤ 0.05).
 */
import { histogramDrift } from '../src/apps/histogram-drift-core.ts';
import { dataDriftReport } from '../src/report/data-drift-report.ts';
import { computeFeatureStats, currentStatsOnReference } from '../src/stats/feature-stats.ts';
import { seededSplit, vegaRows } from '../test/e2e/vega-data.ts';
import type { BenchArgs, BenchResult, Benchmark } from './main.ts';

type Row = Record<string, unknown>;

interface DataSet {
  name: string;
  columns: string[];
  shifted: (r: Row) => boolean;
}

const SETS: DataSet[] = [
  {
    name: 'cars',
    columns: ['Miles_per_Gallon', 'Cylinders', 'Displacement', 'Weight_in_lbs', 'Acceleration', 'Origin', 'Horsepower'],
    shifted: (r) => (r.Weight_in_lbs as number) > 3600,
  },
  {
    name: 'penguins',
    columns: ['Species', 'Island', 'Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)', 'Sex', 'Body Mass (g)'],
    shifted: (r) => typeof r['Flipper Length (mm)'] === 'number' && (r['Flipper Length (mm)'] as number) > 210,
  },
];

function columnsOf(rows: readonly Row[], names: readonly string[]): Record<string, unknown[]> {
  return Object.fromEntries(names.map((n) => [n, rows.map((r) => r[n] ?? null)]));
}

function halves<T>(rows: readonly T[]): T[][] {
  const cut = Math.ceil(rows.length / 2);
  return [rows.slice(0, cut), rows.slice(cut)];
}

interface Tally {
  windows: number;
  histogram: number;
  mlrun: number;
  report: number;
}

/** Counts the windows each app flags. */
function judge(train: readonly Row[], windows: readonly Row[][], names: readonly string[], tally: Tally): void {
  const refColumns = columnsOf(train, names);
  const reference = computeFeatureStats(refColumns);
  const refTable = { names: [...names], columns: refColumns, rowCount: train.length };
  for (const w of windows) {
    const cur = columnsOf(w, names);
    const stats = currentStatsOnReference(reference, cur);
    tally.windows++;
    if (histogramDrift(reference, stats).status >= 1) tally.histogram++;
    if (histogramDrift(reference, stats, { binning: 'mlrun' }).status >= 1) tally.mlrun++;
    if (dataDriftReport(refTable, { names: [...names], columns: cur, rowCount: w.length }).datasetDrift) tally.report++;
  }
}

export const bench: Benchmark = {
  name: 'drift-false-alarms',
  description: 'share of windows like the training data that the built-in drift apps flag, and of shifted windows they catch (cars, penguins, seeded splits)',
  async run(args: BenchArgs, log): Promise<BenchResult> {
    const seeds = Number(args.seeds ?? 200);
    const like: Tally = { windows: 0, histogram: 0, mlrun: 0, report: 0 };
    const shifted: Tally = { windows: 0, histogram: 0, mlrun: 0, report: 0 };
    for (const set of SETS) {
      const rows = vegaRows(set.name);
      for (let seed = 1; seed <= seeds; seed++) {
        const { train, rest } = seededSplit(rows, 0.6, seed);
        judge(train, halves(rest), set.columns, like);
        judge(train, halves(seededSplit(rows.filter(set.shifted), 1, seed).train), set.columns, shifted);
      }
      log(`${set.name}: ${seeds} seeds done`);
    }
    const share = (n: number, t: Tally): number => Math.round((n / t.windows) * 1000) / 1000;
    const figures = {
      like_windows: like.windows,
      like_flagged_histogram: share(like.histogram, like),
      like_flagged_report: share(like.report, like),
      shifted_windows: shifted.windows,
      shifted_flagged_histogram: share(shifted.histogram, shifted),
      shifted_flagged_report: share(shifted.report, shifted),
    };
    for (const [k, v] of Object.entries(figures)) log(`${k}: ${v}`);
    const worst = Math.max(figures.like_flagged_histogram, figures.like_flagged_report);
    return {
      figures,
      baseline: { like_flagged_histogram_mlrun: share(like.mlrun, like), shifted_flagged_histogram_mlrun: share(shifted.mlrun, shifted) },
      ratio: worst,
      target: 0.05,
      better: 'lower',
    };
  },
};
