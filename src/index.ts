/** modelwatch: model monitoring for models served from Node.js. */
export { Modelwatch, openEmbedded, type EmbeddedOptions } from './project/modelwatch.ts';
export { Project, InvokeError, type EnableMonitoringOptions, type DisableMonitoringOptions, type LogModelOptions } from './project/project.ts';
export { ServingFunction, MonitoringFunction, type AddModelOptions, type MonitoringFunctionOptions } from './project/functions.ts';
export type { ModelInit } from './project/serving-worker.ts';
export { MonitoringApplication, type MonitoringApplicationClass } from './apps/base.ts';
export type { MonitoringApplicationContext, EndpointInfo, WindowSample, ReferenceData } from './apps/context.ts';
export { result, metric, type ApplicationOutput, type ResultInput } from './apps/results.ts';
export { HistogramDataDriftApplication, type HistogramDataDriftOptions } from './apps/histogram-data-drift.ts';
export { DEFAULT_RUN_LIMITS, type RunLimits } from './apps/run-limits.ts';
export { ResultKind, ResultStatus, type FeatureStats, type FeatureStatsMap, type InferenceEvent, type EndpointRecord } from './common/types.ts';
export { ManualClock, systemClock, type Clock } from './common/clock.ts';
export {
  ModelwatchError,
  ValidationError,
  NotFoundError,
  ConflictError,
  BackendNotAvailableError,
  ModelError,
  ApplicationError,
  NotRunningError,
  NoSupervisorError,
  DeployTimeoutError,
  WorkerExitedError,
  type FunctionStateDetails,
  TrackingUnavailableError,
  EventTooLargeError,
} from './common/errors.ts';
export type { ModelClass } from './serving/model.ts';
export { Tracker } from './tracking/tracker.ts';
export { connect, type RemoteClient } from './project/client.ts';
export { DataDriftReportApplication, type DataDriftReportAppOptions } from './apps/data-drift-report.ts';
export { BUILTIN_APPLICATIONS } from './apps/builtin.ts';
export {
  dataDriftReport,
  renderReportHtml,
  readReportInput,
  DRIFT_METHODS,
  type DataDriftReport,
  type DataDriftReportOptions,
  type ColumnDrift,
  type ReportInput,
  type ReportTable,
  type DriftMethod,
} from './report/index.ts';
export * as stats from './stats/tests/index.ts';

// What the SDK's methods take and return.
export type {
  ProjectRecord,
  MonitoringSettings,
  FunctionRecord,
  FunctionKind,
  FunctionStatus,
  ModelRecord,
  MonitoringEvent,
  Credentials,
  LateWindow,
  LateWindowQuery,
} from './store/port.ts';
export type { ReanalyzeOptions, ReanalyzedWindow } from './pipeline/controller/reanalyze.ts';
export type { ResultRow, MetricRow, SeriesQuery, DeadLetterRow, DeadLetterQuery } from './store/tsdb-port.ts';
export type { ResultKindName, ResultKindValue, ResultStatusName, ResultStatusValue, EndpointLiveMetrics, AppResult, AppMetric } from './common/types.ts';
export type { CredentialsView } from './project/project.ts';
export type { DeployOptions } from './project/deploy-state.ts';
export type { ListEndpointsOptions } from './project/endpoint-summary.ts';
export type { ApplicationSpec } from './project/runtime.ts';
export type { ServingSpec, ModelSpec } from './project/serving-worker.ts';
export type { TabularInput } from './data/tabular.ts';
export type { AppLogger } from './apps/context.ts';
export { RemoteProject, type ConnectOptions, type FetchLike } from './project/client.ts';
// API tokens, as RemoteClient.createToken, listTokens and revokeToken take and answer them.
export type { Role, TokenRecord, TokenView, CreatedToken } from './auth/tokens.ts';

// Tracking from a service of one's own (Fastify, Express, Hono, ...): a stream, a tracker on the
// project's events topic, and predict functions wrapped by trackedPredict.
export { trackedPredict, type TrackedPredictOptions, type TrackedCall, type PredictFn } from './tracking/middleware.ts';
export type { EndpointInfo as TrackedEndpointInfo, EventEncoder, EventArgs, RequestStart } from './tracking/event.ts';
export type { TrackerOptions, TrackerStats, TrackerSink } from './tracking/tracker.ts';
export type { EventBatch } from './tracking/event-batch.ts';
export { openStream, type OpenStreamOptions } from './stream/connect.ts';
export { topics, type Stream, type OutgoingMessage, type StreamMessage, type SubscribeOptions, type Subscription, type PartitionProgress } from './stream/port.ts';
export type { StreamRetention } from './stream/retention.ts';
export type { NatsStreamOptions } from './stream/nats/nats-stream.ts';
export type { ReaderLogger } from './stream/nats/partition-reader.ts';
export type { KafkaStreamOptions } from './stream/kafka/kafka-stream.ts';
export type { KafkaLogger } from './stream/kafka/kafka-errors.ts';

// The offline report's inputs and options.
export type { ColumnType, ColumnValues } from './stats/column-type.ts';
export type { HistogramDistances } from './stats/histogram-distance.ts';
export type { HtmlOptions } from './report/html.ts';
export type { ReadInput, ReadInputOptions } from './report/read-input.ts';
