import type { Generated } from 'kysely';

/**
 * Table types of the modelwatch SQL schema (see `migrations/001-initial.ts`). Column names are
 * snake_case so that hand-written SQL (Grafana dashboards) reads naturally. JSON lives in text
 * columns and booleans in integers (0/1), because that is what SQLite, PostgreSQL and MySQL share.
 * Times are epoch milliseconds in bigint columns.
 */
export interface Database {
  projects: ProjectsTable;
  functions: FunctionsTable;
  models: ModelsTable;
  endpoints: EndpointsTable;
  analysis_state: AnalysisStateTable;
  leases: LeasesTable;
  monitoring_events: MonitoringEventsTable;
  credentials: CredentialsTable;
  api_tokens: ApiTokensTable;
  predictions: PredictionsTable;
  errors: ErrorsTable;
  window_histograms: WindowHistogramsTable;
  app_results: AppResultsTable;
  metrics: MetricsTable;
  ingest_checkpoints: IngestCheckpointsTable;
  prediction_rollups: PredictionRollupsTable;
  dead_letters: DeadLettersTable;
  window_watermarks: WindowWatermarksTable;
  late_windows: LateWindowsTable;
}

/*
 * Numeric columns are typed as numbers. better-sqlite3 returns them so; a driver that returns
 * bigint/numeric as strings (pg) must be given number parsers, and reads still pass `Number()`.
 */
type BigintColumn = number;
type NullableBigintColumn = number | null;
type DoubleColumn = number;
type NullableDoubleColumn = number | null;
/** JSON encoded as text. */
type Json = string;

export interface ProjectsTable {
  name: string;
  description: string;
  labels: Json;
  monitoring: Json | null;
  created_at: BigintColumn;
}

export interface FunctionsTable {
  project: string;
  name: string;
  kind: string;
  spec: Json;
  labels: Json;
  deployed: number;
  status: Json;
  created_at: BigintColumn;
  updated_at: BigintColumn;
}

export interface ModelsTable {
  project: string;
  model_key: string;
  tag: string;
  uri: string;
  model_file: string | null;
  class_name: string | null;
  feature_names: Json;
  label_names: Json;
  feature_stats: Json;
  labels: Json;
  /** Where `logModel` kept the training set, under the artifact path; null for models logged before. */
  training_set: string | null;
  created_at: BigintColumn;
}

export interface EndpointsTable {
  project: string;
  id: string;
  name: string;
  function: string;
  model: string;
  model_version: string;
  model_uri: string;
  tag: string;
  feature_names: Json;
  label_names: Json;
  feature_stats: Json;
  current_stats: Json;
  first_request: NullableBigintColumn;
  last_request: NullableBigintColumn;
  error_count: BigintColumn;
  drift_status: string;
  drift_measures: Json;
  monitoring_mode: string;
  labels: Json;
  metrics: Json;
  created_at: BigintColumn;
  updated_at: BigintColumn;
  /** Predictions stored after their window was handed out (migration 009). */
  late_predictions: Generated<BigintColumn>;
}

export interface AnalysisStateTable {
  project: string;
  endpoint_id: string;
  app: string;
  last_window_end: BigintColumn;
  /** The claim id of a controller handing out windows up to `claim_end` (migration 003). */
  claim_holder: string | null;
  claim_end: NullableBigintColumn;
  claim_expires_at: NullableBigintColumn;
}

export interface LeasesTable {
  name: string;
  holder: string;
  expires_at: BigintColumn;
}

export interface MonitoringEventsTable {
  id: Generated<number>;
  project: string;
  kind: string;
  endpoint_id: string;
  app: string;
  /** '' for events of no result (since migration 007, which keys events by it). */
  result_name: string | null;
  value: NullableDoubleColumn;
  kind_value: number | null;
  status: number | null;
  window_start: BigintColumn;
  window_end: BigintColumn;
  message: string;
  time: BigintColumn;
}

export interface CredentialsTable {
  project: string;
  data: Json;
}

/** Events the stream processor refused or could not store (migration 007). */
export interface DeadLettersTable {
  id: Generated<number>;
  project: string;
  /** The endpoint the event names, when it names one that fits the column. */
  endpoint_id: string | null;
  /** The request id the event carries, when it fits the column. */
  request_id: string | null;
  stream_partition: number;
  stream_offset: string;
  /** When it was dead-lettered (epoch ms). */
  time: BigintColumn;
  reason: string;
  /** The event's text, cut at `DEAD_LETTER_LIMITS.eventChars`. */
  event: string;
  /** The length of the event's whole text. */
  event_chars: BigintColumn;
}

export interface PredictionsTable {
  project: string;
  endpoint_id: string;
  time: BigintColumn;
  latency_us: BigintColumn;
  request_id: string;
  row_index: number;
  features: Json;
  outputs: Json;
  labels: Json | null;
}

export interface ErrorsTable {
  project: string;
  endpoint_id: string;
  time: BigintColumn;
  request_id: string;
  error: string;
}

export interface WindowHistogramsTable {
  project: string;
  endpoint_id: string;
  window_start: BigintColumn;
  window_end: BigintColumn;
  feature: string;
  counts: Json;
  /** Since migration 005; null on rows written before. */
  at_max: NullableBigintColumn;
  /** Since migration 005: a categorical feature's category counts (JSON object), null for others. */
  categories: Json | null;
  /** Since migration 005. */
  category_other: BigintColumn;
  count: BigintColumn;
  missing: BigintColumn;
  sum: DoubleColumn;
  sum_sq: DoubleColumn;
  min: NullableDoubleColumn;
  max: NullableDoubleColumn;
}

export interface AppResultsTable {
  project: string;
  endpoint_id: string;
  app: string;
  name: string;
  kind: number;
  status: number;
  value: DoubleColumn;
  extra_data: Json;
  window_start: BigintColumn;
  window_end: BigintColumn;
  written_at: BigintColumn;
}

export interface MetricsTable {
  project: string;
  endpoint_id: string;
  app: string;
  name: string;
  value: DoubleColumn;
  window_start: BigintColumn;
  window_end: BigintColumn;
  written_at: BigintColumn;
}

/**
 * The stream consumer's position per partition. Named `stream_partition` / `stream_offset`
 * because `partition` and `offset` are reserved words in MySQL and PostgreSQL.
 */
export interface IngestCheckpointsTable {
  consumer: string;
  stream_partition: number;
  stream_offset: string;
}

/** Per endpoint and 10-second bucket: prediction rows stored and the sum of their latencies (migration 004). */
export interface PredictionRollupsTable {
  project: string;
  endpoint_id: string;
  bucket_start: BigintColumn;
  predictions: BigintColumn;
  latency_us_sum: DoubleColumn;
}

/** Per project, the end up to which the controller closed windows (migration 009). */
export interface WindowWatermarksTable {
  project: string;
  closed_through: BigintColumn;
  updated_at: BigintColumn;
}

/** Per endpoint and window, predictions stored after the window was handed out (migration 009). */
export interface LateWindowsTable {
  project: string;
  endpoint_id: string;
  window_start: BigintColumn;
  window_end: BigintColumn;
  predictions: BigintColumn;
  first_late_at: BigintColumn;
  last_late_at: BigintColumn;
  reanalyzed_predictions: Generated<BigintColumn>;
  reanalyzed_at: NullableBigintColumn;
}

/** Per-person API tokens (migration 008): an scrypt hash of each, never the token. */
export interface ApiTokensTable {
  id: string;
  name: string;
  role: string;
  /** The one project the token reaches; null: every project. */
  project: string | null;
  hash: string;
  created_at: BigintColumn;
  revoked_at: NullableBigintColumn;
}
