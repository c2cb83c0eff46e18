/** Domain types shared by every component (SPEC section 3). */

export const ResultKind = {
  data_drift: 0,
  concept_drift: 1,
  model_performance: 2,
  system_performance: 3,
  mm_app_anomaly: 4,
} as const;
export type ResultKindName = keyof typeof ResultKind;
export type ResultKindValue = (typeof ResultKind)[ResultKindName];

export const ResultStatus = {
  irrelevant: -1,
  no_detection: 0,
  potential_detection: 1,
  detected: 2,
} as const;
export type ResultStatusName = keyof typeof ResultStatus;
export type ResultStatusValue = (typeof ResultStatus)[ResultStatusName];

export function kindName(kind: number): ResultKindName {
  const e = Object.entries(ResultKind).find(([, v]) => v === kind);
  if (!e) throw new Error(`unknown result kind ${kind}`);
  return e[0] as ResultKindName;
}

export function statusName(status: number): ResultStatusName {
  const e = Object.entries(ResultStatus).find(([, v]) => v === status);
  if (!e) throw new Error(`unknown result status ${status}`);
  return e[0] as ResultStatusName;
}

/** Per-feature statistics, as computed from a training set or a window. */
export interface FeatureStats {
  count: number;
  /** Missing values (null, empty, NaN, ±Infinity) seen and left out. */
  missing: number;
  mean?: number;
  std?: number;
  min?: number;
  max?: number;
  /**
   * Histogram: `counts[i]` values in `[edges[i], edges[i+1])`, last bin closed. 22 bins for numeric columns.
   * Window stats are counted on the reference edges, a value equal to the reference maximum in the
   * last real bin (as in the reference); `atMax` says how many such values there were, so that the
   * peer's rule (`binning: 'mlrun'`, those values in the upper padding bin) can be had from the counts.
   */
  hist?: { counts: number[]; edges: number[]; atMax?: number };
  /**
   * Category counts for non-numeric columns. In window stats: the reference's categories only
   * (zeros included), the values not among them counted in `other`.
   */
  categories?: Record<string, number>;
  /** Window stats of a categorical column: present values that are none of the reference's categories. */
  other?: number;
}

export type FeatureStatsMap = Record<string, FeatureStats>;

/** One inference event: serving (or any tracked service) → stream. */
export interface InferenceEvent {
  /** Schema version of the event. */
  v: 1;
  endpointId: string;
  project: string;
  function: string;
  model: string;
  version?: string;
  tag?: string;
  modelUri?: string;
  /** Request start, ISO-8601 with microseconds. */
  when: string;
  /** Microseconds, never wrapping at one second. */
  latencyUs: number;
  /** `firstRow`: the index in its request of the first of `inputs`, on each event of a request tracked as several (absent: 0). */
  request: { id: string; firstRow?: number; inputs: unknown[][] };
  response?: { outputs: unknown[] };
  featureNames?: string[];
  labelNames?: string[];
  labels?: Record<string, string>;
  metrics?: Record<string, number>;
  /** Present on error events. */
  error?: string;
}

export interface EndpointRecord {
  project: string;
  id: string;
  name: string;
  function: string;
  model: string;
  modelVersion: string;
  modelUri: string;
  tag: string;
  featureNames: string[];
  labelNames: string[];
  featureStats: FeatureStatsMap;
  currentStats: FeatureStatsMap;
  firstRequest: number | null;
  lastRequest: number | null;
  errorCount: number;
  driftStatus: ResultStatusName | 'unknown';
  driftMeasures: Record<string, unknown>;
  monitoringMode: 'enabled' | 'disabled';
  labels: Record<string, string>;
  metrics: EndpointLiveMetrics;
  /**
   * Predictions stored after their window had been handed out to the apps (events later than the
   * stream processor's watermark): their windows' results do not include them until a reanalysis
   * (see `listLateWindows`). 0 on a new record.
   */
  latePredictions: number;
  createdAt: number;
  updatedAt: number;
}

export interface EndpointLiveMetrics {
  predictions5m: number;
  predictions1h: number;
  latencyAvg5mUs: number | null;
  latencyAvg1hUs: number | null;
  predictionsPerSecond: number;
}

/** A result an application returns for a window. */
export interface AppResult {
  name: string;
  value: number;
  kind: ResultKindValue;
  status: ResultStatusValue;
  extraData?: Record<string, unknown>;
}

export interface AppMetric {
  name: string;
  value: number;
}

export interface Window {
  start: number;
  end: number;
}
