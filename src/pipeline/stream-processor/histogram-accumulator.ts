import type { FeatureStatsMap } from '../../common/types.ts';
import { CategoryCounter } from '../../stats/feature-stats.ts';
import { isReferenceEdges, referenceBin } from '../../stats/histogram.ts';
import { coerceValue } from '../../stats/values.ts';
import type { WindowHistogram } from '../../store/tsdb-port.ts';
import { windowStartOf } from '../worker.ts';

interface Acc {
  endpointId: string;
  windowStart: number;
  feature: string;
  /** Padded reference edges of a numeric feature. */
  edges: readonly number[] | undefined;
  /** The reference maximum (the upper real edge), when `edges`. */
  maxEdge: number;
  counts: number[];
  atMax: number;
  /** A categorical feature's counts (the reference has categories). */
  categories: CategoryCounter | undefined;
  count: number;
  missing: number;
  sum: number;
  sumSq: number;
  min: number;
  max: number;
}

/** The accumulators of one endpoint's window, by name and in the order of the endpoint's columns. */
interface WindowAccs {
  byName: Map<string, Acc>;
  /** `featureNames` then `labelNames` of the endpoint as last seen: `columns[i]` takes value `i`. */
  columns: Acc[];
  featureNames: readonly string[] | undefined;
  labelNames: readonly string[] | undefined;
  /** Rows added. */
  rows: number;
}

/** How many rows one endpoint's window got (see {@link HistogramAccumulator.windowRows}). */
export interface WindowRows {
  endpointId: string;
  windowStart: number;
  windowEnd: number;
  rows: number;
}

/**
 * Per-window, per-feature counts on the reference, built while events stream in, so a window's
 * drift needs no raw rows:
 * - a numeric feature (the reference has a histogram): counts on the reference edges by the
 *   reference's rule (`referenceBin`), and how many values equal the reference maximum, so that
 *   the drift app can also give the peer's numbers (`binning: 'mlrun'`); present values that are
 *   not numbers count as missing;
 * - a categorical feature (the reference has categories): counts of the reference's categories
 *   and one "other" count (`CategoryCounter`);
 * - any feature: present and missing values, and the moments of the numbers.
 */
export class HistogramAccumulator {
  /** Endpoint id → window start → accumulators; nested maps, so that a value needs no key string. */
  private readonly windows = new Map<string, Map<number, WindowAccs>>();
  /** Every accumulator, in first-seen order. */
  private readonly accs: Acc[] = [];

  constructor(
    private readonly project: string,
    private readonly periodMs: number,
  ) {}

  add(endpointId: string, time: number, ep: { featureNames: string[]; labelNames: string[]; featureStats: FeatureStatsMap }, features: unknown[], outputs: unknown[]): void {
    const ws = windowStartOf(time, this.periodMs);
    let byWindow = this.windows.get(endpointId);
    if (!byWindow) {
      byWindow = new Map();
      this.windows.set(endpointId, byWindow);
    }
    let w = byWindow.get(ws);
    if (!w) {
      w = { byName: new Map(), columns: [], featureNames: undefined, labelNames: undefined, rows: 0 };
      byWindow.set(ws, w);
    }
    // An endpoint's names are fixed once known; they change at most once (names learnt late).
    if (w.featureNames !== ep.featureNames || w.labelNames !== ep.labelNames) this.mapColumns(endpointId, ws, w, ep);
    w.rows++;
    const nf = ep.featureNames.length;
    const columns = w.columns;
    for (let i = 0; i < nf; i++) addValue(columns[i]!, features[i]);
    for (let i = 0; i < ep.labelNames.length; i++) addValue(columns[nf + i]!, outputs[i]);
  }

  private mapColumns(endpointId: string, ws: number, w: WindowAccs, ep: { featureNames: string[]; labelNames: string[]; featureStats: FeatureStatsMap }): void {
    w.columns = [...ep.featureNames, ...ep.labelNames].map((feature) => {
      let a = w.byName.get(feature);
      if (!a) {
        const ref = Object.hasOwn(ep.featureStats, feature) ? ep.featureStats[feature] : undefined;
        const edges = ref?.hist && isReferenceEdges(ref.hist.edges) ? ref.hist.edges : undefined;
        a = {
          endpointId,
          windowStart: ws,
          feature,
          edges,
          maxEdge: edges ? (edges[edges.length - 2] as number) : Number.NaN,
          counts: edges ? new Array<number>(edges.length - 1).fill(0) : [],
          atMax: 0,
          categories: !edges && ref?.categories ? new CategoryCounter(ref.categories) : undefined,
          count: 0,
          missing: 0,
          sum: 0,
          sumSq: 0,
          min: Infinity,
          max: -Infinity,
        };
        w.byName.set(feature, a);
        this.accs.push(a);
      }
      return a;
    });
    w.featureNames = ep.featureNames;
    w.labelNames = ep.labelNames;
  }

  /** Rows added per endpoint and window, whether or not the endpoint has features. */
  windowRows(): WindowRows[] {
    const out: WindowRows[] = [];
    for (const [endpointId, byWindow] of this.windows) {
      for (const [windowStart, w] of byWindow) out.push({ endpointId, windowStart, windowEnd: windowStart + this.periodMs, rows: w.rows });
    }
    return out;
  }

  rows(): WindowHistogram[] {
    return this.accs.map((a) => {
      const c = a.categories;
      return {
        project: this.project,
        endpointId: a.endpointId,
        windowStart: a.windowStart,
        windowEnd: a.windowStart + this.periodMs,
        feature: a.feature,
        counts: a.counts,
        atMax: a.atMax,
        categories: c ? Object.fromEntries(c.seen) : null,
        categoryOther: c ? c.other : 0,
        count: c ? c.count : a.count,
        missing: c ? c.missing : a.missing,
        sum: a.sum,
        sumSq: a.sumSq,
        min: a.count ? a.min : null,
        max: a.count ? a.max : null,
      };
    });
  }
}

function addValue(a: Acc, raw: unknown): void {
  if (a.categories) {
    a.categories.add(raw);
    return;
  }
  const v = coerceValue(raw);
  // Against a numeric (or unknown) reference, text that is no number has no bin: counted as missing.
  if (typeof v !== 'number') {
    a.missing++;
    return;
  }
  a.count++;
  a.sum += v;
  a.sumSq += v * v;
  if (v < a.min) a.min = v;
  if (v > a.max) a.max = v;
  if (a.edges) {
    const b = referenceBin(a.edges, v);
    if (b >= 0) a.counts[b]!++;
    if (v === a.maxEdge) a.atMax++;
  }
}
