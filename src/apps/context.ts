import type { FeatureStatsMap } from '../common/types.ts';

/** The endpoint an application looks at. */
export interface EndpointInfo {
  id: string;
  name: string;
  function: string;
  model: string;
  modelVersion: string;
  /** `store://models/...` of the logged model the endpoint serves; empty when it names none. */
  modelUri: string;
  featureNames: string[];
  labelNames: string[];
}

/** A window's rows, columnar: feature and label (model output) columns by name. */
export interface WindowSample {
  columns: Record<string, unknown[]>;
  /** Rows in `columns` (at most the reservoir size). */
  rowCount: number;
  /** Rows the window held before sampling. */
  totalRows: number;
  /** Request ids and times per sampled row. */
  requestIds: string[];
  times: number[];
}

/** The training set kept with the endpoint's logged model, columnar like {@link WindowSample}. */
export interface ReferenceData {
  /** Columns in order: the model's features, then its labels. */
  names: string[];
  columns: Record<string, unknown[]>;
  rowCount: number;
  /** The model it was logged with. */
  modelUri: string;
}

export interface AppLogger {
  info(msg: string, data?: Record<string, unknown>): void;
  warn(msg: string, data?: Record<string, unknown>): void;
  error(msg: string, data?: Record<string, unknown>): void;
}

/** What an application's `doTracking` receives for one (endpoint, window). */
export interface MonitoringApplicationContext {
  applicationName: string;
  project: string;
  endpoint: EndpointInfo;
  /** Window start and end (end exclusive) as epoch ms. */
  startMs: number;
  endMs: number;
  windowStart: Date;
  windowEnd: Date;
  sample: WindowSample;
  /** Per-feature stats of the window with histograms on the reference edges. */
  sampleStats: FeatureStatsMap;
  /** Reference stats from the training set. */
  featureStats: FeatureStatsMap;
  /**
   * The training set's rows, read on the first call (and shared by the windows of every endpoint
   * of the same model). Undefined when the endpoint names no logged model, or its model was logged
   * before training sets were kept (log it again to keep it).
   */
  reference(): Promise<ReferenceData | undefined>;
  /** App options as registered (thresholds and the like). */
  options: Record<string, unknown>;
  logger: AppLogger;
  /** Stores an artifact (JSON, HTML, CSV) under the artifact path; returns its path. */
  logArtifact(name: string, body: string | object, opts?: { format?: 'json' | 'html' | 'csv' }): Promise<string>;
}
