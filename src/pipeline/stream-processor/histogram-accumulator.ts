import type { FeatureStatsMap } from '../../common/types.ts';
import type { WindowHistogram } from '../../store/tsdb-port.ts';
import { windowStartOf } from '../worker.ts';

interface Acc {
  endpointId: string;
  windowStart: number;
  feature: string;
  edges: readonly number[] | undefined;
  counts: number[];
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
}

/**
 * Per-window, per-feature histograms on the reference bin edges, built while events stream
 * in, so a window's drift needs no raw rows. Bins are `[e_i, e_{i+1})` with only the last
 * bin closed, as the built-in drift app counts a current window.
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
      w = { byName: new Map(), columns: [], featureNames: undefined, labelNames: undefined };
      byWindow.set(ws, w);
    }
    // An endpoint's names are fixed once known; they change at most once (names learnt late).
    if (w.featureNames !== ep.featureNames || w.labelNames !== ep.labelNames) this.mapColumns(endpointId, ws, w, ep);
    const nf = ep.featureNames.length;
    const columns = w.columns;
    for (let i = 0; i < nf; i++) addValue(columns[i]!, features[i]);
    for (let i = 0; i < ep.labelNames.length; i++) addValue(columns[nf + i]!, outputs[i]);
  }

  private mapColumns(endpointId: string, ws: number, w: WindowAccs, ep: { featureNames: string[]; labelNames: string[]; featureStats: FeatureStatsMap }): void {
    w.columns = [...ep.featureNames, ...ep.labelNames].map((feature) => {
      let a = w.byName.get(feature);
      if (!a) {
        const edges = ep.featureStats[feature]?.hist?.edges;
        a = {
          endpointId,
          windowStart: ws,
          feature,
          edges,
          counts: edges ? new Array<number>(edges.length - 1).fill(0) : [],
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

  rows(): WindowHistogram[] {
    return this.accs.map((a) => ({
      project: this.project,
      endpointId: a.endpointId,
      windowStart: a.windowStart,
      windowEnd: a.windowStart + this.periodMs,
      feature: a.feature,
      counts: a.counts,
      count: a.count,
      missing: a.missing,
      sum: a.sum,
      sumSq: a.sumSq,
      min: a.count ? a.min : null,
      max: a.count ? a.max : null,
    }));
  }
}

function addValue(a: Acc, raw: unknown): void {
  const v = toNumber(raw);
  if (v === undefined) {
    a.missing++;
    return;
  }
  a.count++;
  a.sum += v;
  a.sumSq += v * v;
  if (v < a.min) a.min = v;
  if (v > a.max) a.max = v;
  if (a.edges) {
    const b = binOf(a.edges, v);
    if (b >= 0) a.counts[b]!++;
  }
}

/** Numeric value of a cell, or undefined when missing or not numeric. */
export function toNumber(raw: unknown): number | undefined {
  if (typeof raw === 'number') return Number.isFinite(raw) ? raw : undefined;
  if (typeof raw === 'boolean') return raw ? 1 : 0;
  if (typeof raw === 'string' && raw.trim() !== '') {
    const n = Number(raw);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** Index of the bin `[e_i, e_{i+1})` holding v (last bin closed), or -1 outside the edges. */
export function binOf(edges: readonly number[], v: number): number {
  const n = edges.length - 1;
  if (n < 1 || v < edges[0]! || v > edges[n]!) return -1;
  if (v === edges[n]) return n - 1;
  let lo = 0;
  let hi = n; // invariant: edges[lo] <= v < edges[hi]
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (edges[mid]! <= v) lo = mid;
    else hi = mid;
  }
  return lo;
}
