import type { ResultKindValue, ResultStatusValue, Window } from '../common/types.ts';
import type { PredictionColumns } from './prediction-columns.ts';

/**
 * Time-series tables of a project (SPEC section 3): predictions, errors, app results and
 * metrics (history, with a latest view), and per-window histograms kept at ingest.
 */
export interface Tsdb {
  readonly url: string;
  /**
   * Whether ingest writes run on the calling thread (SQLite in memory, or with its writer thread
   * off or failed): nothing else can run meanwhile, so a caller gains nothing by preparing its next
   * write during one (the stream processor then does not).
   */
  readonly writesInProcess?: boolean;
  /**
   * Gets ready for `writeIngestBatch` calls (SQLite: starts the writer thread, which otherwise
   * starts on the first batch, written on the calling thread meanwhile). Optional; returns at once.
   */
  prepareIngest?(): void;
  migrate(): Promise<void>;
  close(): Promise<void>;

  /**
   * Writes one stream-processor batch in a single transaction together with the consumer's
   * checkpoint, so that a batch delivered again after a crash is recognised and skipped.
   */
  writeIngestBatch(batch: IngestBatch): Promise<void>;
  /** Highest stream offset already written by `consumer` for `partition` (as a decimal string). */
  getCheckpoint(consumer: string, partition: number): Promise<string | undefined>;
  /** The project's dead letters, newest first (see {@link DeadLetterRow}). */
  listDeadLetters(project: string, q?: DeadLetterQuery): Promise<DeadLetterRow[]>;

  countPredictions(project: string, endpointId: string, window: Window): Promise<number>;
  /** Predictions of the window per endpoint among `endpointIds`; endpoints without any are absent. */
  countPredictionsByEndpoint(project: string, endpointIds: readonly string[], window: Window): Promise<Map<string, number>>;
  /** Rows of the window in time order; `limit` caps the number read. */
  readPredictions(project: string, endpointId: string, window: Window, opts?: { limit?: number }): Promise<PredictionRow[]>;
  /**
   * The prediction rows of these requests of one endpoint (any time), e.g. to see that events have
   * landed. Requests that shared an id are each there, in time order.
   */
  readPredictionsByRequest(project: string, endpointId: string, requestIds: readonly string[]): Promise<PredictionRow[]>;
  readErrors(project: string, endpointId: string, window: Window): Promise<ErrorRow[]>;
  /** Per (endpoint): count and mean latency of predictions since `since`. */
  predictionSummary(project: string, since: number): Promise<{ endpointId: string; count: number; latencyAvgUs: number }[]>;
  /**
   * Per endpoint: count and mean latency (null without predictions) of the predictions since each
   * of `sinces`, in the order given (live endpoint metrics). Endpoints without predictions since
   * the earliest of `sinces` are absent. Exact, yet it reads at most one 10-second bucket of
   * prediction rows per time: the rest comes from the per-bucket rollups written with the rows.
   */
  predictionSummaries(project: string, sinces: readonly number[]): Promise<PredictionSummaries[]>;
  /** The histograms kept for one window (keyed by `windowStart` of the base period). */
  readWindowHistograms(project: string, endpointId: string, windowStart: number, windowEnd: number): Promise<WindowHistogram[]>;

  /** Stores results; history is keyed by (project, endpoint, app, name, windowStart), so writing again replaces. */
  writeResults(rows: ResultRow[]): Promise<void>;
  writeMetrics(rows: MetricRow[]): Promise<void>;
  listResults(project: string, q?: SeriesQuery): Promise<ResultRow[]>;
  listMetrics(project: string, q?: SeriesQuery): Promise<MetricRow[]>;
  /** The latest result per (endpoint, app, name). */
  latestResults(project: string, q?: { endpointId?: string; app?: string }): Promise<ResultRow[]>;
  hasResults(project: string, endpointId: string, app: string, windowStart: number): Promise<boolean>;
  deleteResults(project: string, endpointId: string, app: string, window: Window): Promise<void>;

  /**
   * Retention: deletes predictions and errors stamped before `cutoffMs`, and histograms, results
   * and metrics of windows that ended by then, in batches of `batchSize` rows (default 10,000).
   * Optional: a backend without it keeps everything.
   */
  deleteOlderThan?(cutoffMs: number, opts?: { batchSize?: number }): Promise<RetentionCounts>;
}

/** Rows deleted per table by {@link Tsdb.deleteOlderThan}. */
export interface RetentionCounts {
  predictions: number;
  errors: number;
  window_histograms: number;
  app_results: number;
  metrics: number;
  /** Live-metrics buckets (see `prediction_rollups`). */
  prediction_rollups: number;
  /** Dead letters dead-lettered before the cutoff. */
  dead_letters: number;
}

export interface PredictionRow {
  project: string;
  endpointId: string;
  time: number;
  latencyUs: number;
  requestId: string;
  /** Row index inside the request (a request with N rows is N predictions). */
  rowIndex: number;
  features: unknown[];
  outputs: unknown[];
  /**
   * `features` as JSON text, when the writer already has it (the stream processor cuts it out of
   * the event). When set, writers store it and ignore `features`, which the stream processor then
   * leaves empty.
   */
  featuresJson?: string;
  /** `outputs` as JSON text, likewise. */
  outputsJson?: string;
  labels?: Record<string, string> | null;
}

export interface ErrorRow {
  project: string;
  endpointId: string;
  time: number;
  requestId: string;
  error: string;
}

/**
 * Counts on the reference of one feature in one window — on the reference bin edges (numeric
 * features) or of the reference's categories (categorical ones) — plus running moments, so that
 * window statistics need no raw rows.
 */
export interface WindowHistogram {
  project: string;
  endpointId: string;
  windowStart: number;
  windowEnd: number;
  feature: string;
  /** Counts on the reference edges, a value equal to the reference maximum in the last real bin. */
  counts: number[];
  /**
   * Values equal to the reference maximum (in `counts`' last real bin). Null on rows stored before
   * this was counted (schema 005), whose counts put those values in the upper padding bin: their
   * windows' stats are computed from the rows instead.
   */
  atMax: number | null;
  /** A categorical feature's counts of the reference's categories seen in the window (absent: 0); null for others. */
  categories: Record<string, number> | null;
  /** A categorical feature's present values that are none of the reference's categories. */
  categoryOther: number;
  count: number;
  missing: number;
  sum: number;
  sumSq: number;
  min: number | null;
  max: number | null;
}

/** One endpoint's prediction counts and mean latencies since each of several times (see {@link Tsdb.predictionSummaries}). */
export interface PredictionSummaries {
  endpointId: string;
  counts: number[];
  latencyAvgUs: (number | null)[];
}

export interface IngestBatch {
  /** As rows, or as columns (what the stream processor builds, see prediction-columns.ts). */
  predictions: readonly PredictionRow[] | PredictionColumns;
  errors: ErrorRow[];
  histograms: WindowHistogram[];
  /** Events of the batch that are not stored, and why. */
  deadLetters?: DeadLetterRow[];
  checkpoint?: IngestCheckpoint;
}

/**
 * The consumer's position that a batch moves to: `offset`, the batch's highest. When the stored
 * position is at or past `offset` the batch was written before (delivered again after a crash) and
 * is skipped. With `after`, the batch holds every event past that position up to its own, and is
 * written only when the stored position is still `after` (null: none stored yet): any other means
 * the batch overlaps what another consumer wrote since it was read, and it fails with
 * {@link STALE_CHECKPOINT} so that its events are read again (the stream processor always says
 * `after`; without it, only the skip applies).
 */
export interface IngestCheckpoint {
  consumer: string;
  partition: number;
  offset: string;
  after?: string | null;
}

/**
 * An event the stream processor did not store: refused (it breaks the event limits, or is no event)
 * or failing to write on its own (see `dead_letters`, migration 007).
 */
export interface DeadLetterRow {
  id?: number;
  project: string;
  /** The endpoint the event names, when it names one within the limits. */
  endpointId: string | null;
  /** Its request id, when it has one within the limits. */
  requestId: string | null;
  partition: number;
  offset: string;
  /** When it was dead-lettered (epoch ms). */
  time: number;
  reason: string;
  /** The event's text, cut at `DEAD_LETTER_LIMITS.eventChars` characters. */
  event: string;
  /** The length of its whole text. */
  eventChars: number;
}

/** Filter of {@link Tsdb.listDeadLetters}. */
export interface DeadLetterQuery {
  endpointId?: string;
  /** Dead-lettered at or after (epoch ms). */
  since?: number;
  /** At most this many (the newest). */
  limit?: number;
}

export interface ResultRow {
  project: string;
  endpointId: string;
  app: string;
  name: string;
  kind: ResultKindValue;
  status: ResultStatusValue;
  value: number;
  extraData: Record<string, unknown>;
  windowStart: number;
  windowEnd: number;
  writtenAt: number;
}

export interface MetricRow {
  project: string;
  endpointId: string;
  app: string;
  name: string;
  value: number;
  windowStart: number;
  windowEnd: number;
  writtenAt: number;
}

export interface SeriesQuery {
  endpointId?: string;
  app?: string;
  name?: string;
  /** Window start ≥ start. */
  start?: number;
  /** Window start < end. */
  end?: number;
  limit?: number;
}
