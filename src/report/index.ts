/**
 * The data-drift report (SPEC section 4): library API behind `modelwatch report` and the
 * `data-drift-report` monitoring app.
 */
export { dataDriftReport, DEFAULT_DRIFT_SHARE } from './data-drift-report.ts';
export { binnedScore, type BinnedCounts, type Score } from './binned.ts';
export { renderReportHtml, type HtmlOptions } from './html.ts';
export { DRIFT_METHODS, METHODS, defaultMethod, isDrifted, parseMethod, type DriftMethod, type MethodInfo } from './methods.ts';
export { readReportInput, type ReadInput, type ReadInputOptions } from './read-input.ts';
export { readNumericCsv, type NumericCsv } from './numeric-csv.ts';
export type { ColumnBins, ColumnDrift, DataDriftReport, DataDriftReportOptions, ReportInput, ReportTable } from './types.ts';
