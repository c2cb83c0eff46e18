/**
 * The `data-drift-report` monitoring app (SPEC section 4, "Data-drift report app"):
 * Evidently-compatible drift per column and dataset drift, per window.
 *
 * The app runs the engine of the offline report (`dataDriftReport`, `modelwatch report`) on
 * the endpoint's reference rows against the window's rows (`ctx.sample`, the reservoir of up to
 * `sampleSize` rows), so that on the same two tables both give the same numbers. The reference is
 * the training set kept with the endpoint's logged model (`ctx.reference()`), or the file the
 * option `referencePath` names (CSV, JSON lines, JSON or Parquet, read once per app instance).
 *
 * Results: one per column (kind data_drift, value = score, status detected when drifted,
 * else no_detection; measures in extraData), named after the column with characters outside
 * `[A-Za-z0-9_]` replaced by `_`, and `dataset_drift` (value = share of drifted columns,
 * detected when the share reaches `driftShare`). A window the app cannot judge — fewer rows than
 * `minSamples`, no reference, no column to compare — gives only `dataset_drift` with status
 * irrelevant and the reason in `extraData.message`.
 */
import { minSamplesOption, tooFewRows } from './min-samples.ts';
import { ResultKind, ResultStatus, type AppResult } from '../common/types.ts';
import { dataDriftReport } from '../report/data-drift-report.ts';
import { renderReportHtml } from '../report/html.ts';
import { parseMethod } from '../report/methods.ts';
import { readReportInput } from '../report/read-input.ts';
import type { DataDriftReport, DataDriftReportOptions, ReportTable } from '../report/types.ts';
import type { ColumnType } from '../stats/column-type.ts';
import { MonitoringApplication } from './base.ts';
import type { MonitoringApplicationContext } from './context.ts';
import type { ApplicationOutput } from './results.ts';

/** Options of the app (registration options and `ctx.options`; registration wins). */
export interface DataDriftReportAppOptions {
  /**
   * A reference file (CSV, JSON lines, JSON, Parquet) to use instead of the training set kept with
   * the endpoint's model.
   */
  referencePath?: string;
  /** Columns to compare (default: every reference column the window has). */
  columns?: string[];
  method?: string;
  threshold?: number;
  columnMethods?: Record<string, string>;
  columnThresholds?: Record<string, number>;
  columnTypes?: Record<string, ColumnType>;
  /** Dataset drift when the share of drifted columns is ≥ this (default 0.5). */
  driftShare?: number;
  /** Benjamini–Hochberg across p-value tests (default false). */
  benjaminiHochberg?: boolean;
  /** Windows with fewer rows than this are not judged (status irrelevant). @default 50 */
  minSamples?: number;
  /** Also store the HTML page of each window as the artifact `data-drift-report.html`. */
  logReport?: boolean;
}

/** Name of the dataset-level result. */
export const DATASET_DRIFT_RESULT = 'dataset_drift';

/** See the module comment. */
export class DataDriftReportApplication extends MonitoringApplication {
  private readonly files = new Map<string, Promise<ReportTable>>();
  /** Endpoints already warned about a missing reference (one warning each). */
  private readonly warned = new Set<string>();

  async doTracking(ctx: MonitoringApplicationContext): Promise<ApplicationOutput> {
    const opts = { ...(ctx.options as DataDriftReportAppOptions), ...(this.options as DataDriftReportAppOptions) };
    const reportOptions = toReportOptions(opts);
    const minSamples = minSamplesOption('data-drift-report', opts.minSamples);
    const rows = ctx.sample.totalRows;
    const tooFew = tooFewRows(rows, minSamples);
    if (tooFew) return notJudged(tooFew, { rows, minSamples });
    let reference: ReportTable;
    let source: string;
    if (opts.referencePath) {
      reference = await this.file(opts.referencePath);
      source = opts.referencePath;
    } else {
      const kept = await ctx.reference();
      if (!kept) {
        const message = noReferenceMessage(ctx.endpoint.modelUri);
        if (!this.warned.has(ctx.endpoint.id)) {
          this.warned.add(ctx.endpoint.id);
          ctx.logger.warn(message, { endpoint: ctx.endpoint.id, modelUri: ctx.endpoint.modelUri });
        }
        return notJudged(message, { modelUri: ctx.endpoint.modelUri });
      }
      reference = kept;
      source = kept.modelUri;
    }
    const current = ctx.sample.columns;
    const names = reportOptions.columns ?? reference.names.filter((n) => Object.hasOwn(current, n));
    if (names.length === 0) {
      return notJudged(`no column of the window is in the reference (${reference.names.join(', ')})`, { reference: source });
    }
    const report = dataDriftReport(reference, { names: [...names], columns: current, rowCount: ctx.sample.rowCount }, { ...reportOptions, columns: names });
    if (report.numberOfColumns === 0) {
      ctx.logger.warn('no column could be compared in this window', { endpoint: ctx.endpoint.id, skipped: report.skippedColumns });
      return notJudged('no column could be compared in this window (see skippedColumns)', { reference: source, skippedColumns: report.skippedColumns });
    }
    if (opts.logReport) {
      await ctx.logArtifact('data-drift-report.html', renderReportHtml(report, { subtitle: `${ctx.endpoint.name} · ${ctx.windowStart.toISOString()} – ${ctx.windowEnd.toISOString()}` }), { format: 'html' });
    }
    return toResults(report, source);
  }

  /** A reference file, read once per path. */
  private file(path: string): Promise<ReportTable> {
    let p = this.files.get(path);
    if (!p) {
      p = readReportInput(path).then((r) => r.table);
      // A failed read is retried on the next window rather than cached.
      p.catch(() => this.files.delete(path));
      this.files.set(path, p);
    }
    return p;
  }
}

function noReferenceMessage(modelUri: string): string {
  if (!modelUri) {
    return 'no reference: the endpoint names no logged model (serve the model with modelUri set to a model logged with logModel), and the option referencePath is not set';
  }
  return `no reference: the model ${modelUri} has no kept training set (it was logged before training sets were kept, or is no longer in the store); log the model again with logModel (CLI: models log) to keep it, or set the option referencePath`;
}

/** Only `dataset_drift`, status irrelevant: the window was not judged, `message` says why. */
function notJudged(message: string, extra: Record<string, unknown>): AppResult[] {
  return [{ name: DATASET_DRIFT_RESULT, value: 0, kind: ResultKind.data_drift, status: ResultStatus.irrelevant, extraData: { message, ...extra } }];
}

function toReportOptions(o: DataDriftReportAppOptions): DataDriftReportOptions {
  const out: DataDriftReportOptions = { bins: Boolean(o.logReport) };
  if (o.columns) out.columns = o.columns;
  if (o.method !== undefined) out.method = parseMethod(o.method);
  if (o.threshold !== undefined) out.threshold = o.threshold;
  if (o.columnMethods) out.columnMethods = Object.fromEntries(Object.entries(o.columnMethods).map(([k, v]) => [k, parseMethod(v)]));
  if (o.columnThresholds) out.columnThresholds = o.columnThresholds;
  if (o.columnTypes) out.columnTypes = o.columnTypes;
  if (o.driftShare !== undefined) out.driftShare = o.driftShare;
  if (o.benjaminiHochberg) out.benjaminiHochberg = true;
  return out;
}

/** Column results and the dataset result of a report; `reference` names where the reference came from. */
export function toResults(report: DataDriftReport, reference: string): AppResult[] {
  const used = new Set<string>([DATASET_DRIFT_RESULT]);
  const results: AppResult[] = [];
  const summary: Record<string, { method: string; score: number; drifted: boolean }> = {};
  for (const [column, c] of Object.entries(report.columns)) {
    const name = uniqueName(resultName(column), used);
    summary[column] = { method: c.method, score: c.score, drifted: c.drifted };
    const { bins: _bins, ...measures } = c;
    results.push({
      name,
      value: finite(c.score),
      kind: ResultKind.data_drift,
      status: c.drifted ? ResultStatus.detected : ResultStatus.no_detection,
      extraData: { column, ...measures },
    });
  }
  results.push({
    name: DATASET_DRIFT_RESULT,
    value: report.shareOfDriftedColumns,
    kind: ResultKind.data_drift,
    status: report.datasetDrift ? ResultStatus.detected : ResultStatus.no_detection,
    extraData: {
      reference,
      driftShare: report.driftShare,
      numberOfColumns: report.numberOfColumns,
      numberOfDriftedColumns: report.numberOfDriftedColumns,
      referenceRows: report.referenceRows,
      currentRows: report.currentRows,
      columns: summary,
      skippedColumns: report.skippedColumns,
    },
  });
  return results;
}

/** A result name from a column name: `[A-Za-z0-9_]` kept, others `_`, a leading digit prefixed with `_`. */
export function resultName(column: string): string {
  const s = column.replace(/[^A-Za-z0-9_]/g, '_');
  return s === '' || /^[0-9]/.test(s) ? `_${s}` : s;
}

function uniqueName(base: string, used: Set<string>): string {
  let name = base;
  for (let i = 2; used.has(name); i++) name = `${base}_${i}`;
  used.add(name);
  return name;
}

function finite(x: number): number {
  return Number.isFinite(x) ? x : x > 0 ? Number.MAX_VALUE : 0;
}
