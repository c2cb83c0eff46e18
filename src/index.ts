/** modelwatch: model monitoring for models served from Node.js. */
export { Modelwatch, openEmbedded, type EmbeddedOptions } from './project/modelwatch.ts';
export { Project, InvokeError, type EnableMonitoringOptions, type DisableMonitoringOptions, type LogModelOptions } from './project/project.ts';
export { ServingFunction, MonitoringFunction, type AddModelOptions, type MonitoringFunctionOptions } from './project/functions.ts';
export type { ModelInit } from './project/serving-worker.ts';
export { MonitoringApplication, type MonitoringApplicationClass } from './apps/base.ts';
export type { MonitoringApplicationContext, EndpointInfo, WindowSample, ReferenceData } from './apps/context.ts';
export { result, metric, type ApplicationOutput, type ResultInput } from './apps/results.ts';
export { HistogramDataDriftApplication, type HistogramDataDriftOptions } from './apps/histogram-data-drift.ts';
export { ResultKind, ResultStatus, type FeatureStats, type FeatureStatsMap, type InferenceEvent, type EndpointRecord } from './common/types.ts';
export { ManualClock, systemClock, type Clock } from './common/clock.ts';
export { ModelwatchError, ValidationError, NotFoundError, ConflictError, BackendNotAvailableError } from './common/errors.ts';
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
