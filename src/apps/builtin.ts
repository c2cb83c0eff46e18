/**
 * The built-in monitoring applications, by the name a user gives as `application` to
 * `setModelMonitoringFunction` (SDK), `--application` (CLI) or `application` (REST):
 * - `histogram-data-drift`: the default drift app (SPEC section 4), deployed by
 *   `enableModelMonitoring`;
 * - `data-drift-report`: Evidently-compatible drift per column and dataset drift per window.
 */
import { DATA_DRIFT_REPORT_APP, HISTOGRAM_DRIFT_APP } from '../common/names.ts';
import type { MonitoringApplicationClass } from './base.ts';
import { DataDriftReportApplication } from './data-drift-report.ts';
import { HistogramDataDriftApplication } from './histogram-data-drift.ts';

export const BUILTIN_APPLICATIONS: Readonly<Record<string, MonitoringApplicationClass>> = {
  [HISTOGRAM_DRIFT_APP]: HistogramDataDriftApplication,
  [DATA_DRIFT_REPORT_APP]: DataDriftReportApplication,
};

/** Whether `name` names a built-in application (rather than a module file). */
export function isBuiltinApplication(name: string): boolean {
  return Object.hasOwn(BUILTIN_APPLICATIONS, name);
}
