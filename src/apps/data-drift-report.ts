/**
 * The `data-drift-report` monitoring app (SPEC section 4, "Data-drift report app"):
 * Evidently-compatible drift per column and dataset drift, per window.
 *
 * Two modes, chosen by the `referencePath` option:
 * - **raw** (`referencePath` names the training set as CSV, JSON lines or Parquet): the file
 *   is read once per app instance and the full report engine runs on it against the window's
 *   sample (`ctx.sample`, the reservoir of up to `sampleSize` rows) — every method is
 *   available and the numbers are the offline report's (`modelwatch report`);
 * - **binned** (default; the context holds only reference *stats*): numeric columns compare
 *   the 22-bin reference histogram with the window's counts on the same edges (every row of
 *   the window, not only the sample), categorical columns their category counts. Only methods
 *   that work on counts are possible (chisquare, z, jensenshannon, psi, kl, hellinger, tvd),
 *   on the 20 reference bins (the padding bins merged into the outer ones, see `mergePadding`);
 *   the default rule becomes: reference ≤ 1000 values → chi-square on the bins (z-test when
 *   at most 2 bins hold values), else Jensen–Shannon distance on the bins.
 *
 * Results: one per column (kind data_drift, value = score, status detected when drifted,
 * else no_detection; measures in extraData), named after the column with characters outside
 * `[A-Za-z0-9_]` replaced by `_`, and `dataset_drift` (value = share of drifted columns,
 * detected when the share reaches `driftShare`).
 */
import { ValidationError } from '../common/errors.ts';
import { ResultKind, ResultStatus, type AppResult, type FeatureStatsMap } from '../common/types.ts';
import { binnedScore } from '../report/binned.ts';
import { dataDriftReport, datasetDrift } from '../report/data-drift-report.ts';
import { renderReportHtml } from '../report/html.ts';
import { isDrifted, METHODS, parseMethod, SMALL_REFERENCE_ROWS, type DriftMethod } from '../report/methods.ts';
import { readReportInput } from '../report/read-input.ts';
import type { ColumnDrift, DataDriftReport, DataDriftReportOptions, ReportTable } from '../report/types.ts';
import { histogramDistances } from '../stats/histogram-distance.ts';
import type { ColumnType } from '../stats/column-type.ts';
import { MonitoringApplication } from './base.ts';
import type { MonitoringApplicationContext } from './context.ts';
import type { ApplicationOutput } from './results.ts';

/** Options of the app (registration options and `ctx.options`; registration wins). */
export interface DataDriftReportAppOptions {
  /** Training set file (CSV, JSON lines, JSON, Parquet) for raw mode; absent → binned mode. */
  referencePath?: string;
  /** Columns to compare (default: every reference column the window has). */
  columns?: string[];
  method?: string;
  threshold?: number;
  columnMethods?: Record<string, string>;
  columnThresholds?: Record<string, number>;
  /** Raw mode only (binned mode takes the type from the reference stats). */
  columnTypes?: Record<string, ColumnType>;
  /** Dataset drift when the share of drifted columns is ≥ this (default 0.5). */
  driftShare?: number;
  /** Benjamini–Hochberg across p-value tests (default false). */
  benjaminiHochberg?: boolean;
  /** Also store the HTML page of each window as the artifact `data-drift-report.html`. */
  logReport?: boolean;
}

/** Name of the dataset-level result. */
export const DATASET_DRIFT_RESULT = 'dataset_drift';

/** See the module comment. */
export class DataDriftReportApplication extends MonitoringApplication {
  private readonly references = new Map<string, Promise<ReportTable>>();

  async doTracking(ctx: MonitoringApplicationContext): Promise<ApplicationOutput> {
    const opts = { ...(ctx.options as DataDriftReportAppOptions), ...(this.options as DataDriftReportAppOptions) };
    const reportOptions = toReportOptions(opts);
    let report: DataDriftReport;
    let mode: 'raw' | 'binned';
    if (opts.referencePath) {
      mode = 'raw';
      const reference = await this.reference(opts.referencePath);
      const current = ctx.sample.columns;
      const names = reportOptions.columns ?? reference.names.filter((n) => Object.hasOwn(current, n));
      if (names.length === 0 || ctx.sample.rowCount === 0) {
        ctx.logger.warn('no rows or no column shared with the reference in this window; nothing to compare', { endpoint: ctx.endpoint.id });
        return [];
      }
      report = dataDriftReport(reference, { names: [...names], columns: current, rowCount: ctx.sample.rowCount }, { ...reportOptions, columns: names });
    } else {
      mode = 'binned';
      report = binnedReport(ctx.featureStats, ctx.sampleStats, reportOptions);
    }
    if (report.numberOfColumns === 0) {
      ctx.logger.warn('no column could be compared in this window', { endpoint: ctx.endpoint.id, skipped: report.skippedColumns });
      return [];
    }
    if (opts.logReport) {
      await ctx.logArtifact('data-drift-report.html', renderReportHtml(report, { subtitle: `${ctx.endpoint.name} · ${ctx.windowStart.toISOString()} – ${ctx.windowEnd.toISOString()}` }), { format: 'html' });
    }
    return toResults(report, mode);
  }

  /** The reference table, read once per path. */
  private reference(path: string): Promise<ReportTable> {
    let p = this.references.get(path);
    if (!p) {
      p = readReportInput(path).then((r) => r.table);
      // A failed read is retried on the next window rather than cached.
      p.catch(() => this.references.delete(path));
      this.references.set(path, p);
    }
    return p;
  }
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

/**
 * The report from reference stats and window stats only (binned mode, see the module comment).
 *
 * @throws ValidationError for a method that needs raw values.
 */
export function binnedReport(reference: FeatureStatsMap, current: FeatureStatsMap, options: DataDriftReportOptions = {}): DataDriftReport {
  const driftShare = options.driftShare ?? 0.5;
  const names = options.columns ?? Object.keys(reference).filter((n) => Object.hasOwn(current, n));
  const columns: Record<string, ColumnDrift> = {};
  const skippedColumns: Record<string, string> = {};
  for (const name of names) {
    const ref = Object.hasOwn(reference, name) ? reference[name] : undefined;
    const cur = Object.hasOwn(current, name) ? current[name] : undefined;
    const bins = ref && cur ? binsOf(ref, cur) : undefined;
    if (!ref || !cur || !bins) {
      skippedColumns[name] = !ref ? 'no reference stats' : !cur ? 'not in the window' : 'reference and window stats cannot be compared';
      continue;
    }
    const nRef = sum(bins.reference);
    const nCur = sum(bins.current);
    if (nRef === 0 || nCur === 0) {
      skippedColumns[name] = nRef === 0 ? 'no values in reference' : 'no values in the window';
      continue;
    }
    const nonEmpty = bins.reference.filter((r, i) => r + (bins.current[i] as number) > 0).length;
    const m = (Object.hasOwn(options.columnMethods ?? {}, name) ? options.columnMethods?.[name] : undefined) ?? options.method;
    const method: DriftMethod = m ?? (nRef <= SMALL_REFERENCE_ROWS ? (nonEmpty > 2 ? 'chisquare' : 'z') : 'jensenshannon');
    if (!METHODS[method].binned) {
      throw new ValidationError(`method '${method}' needs raw reference values: give the data-drift-report app the option referencePath (the training set file)`);
    }
    const score = binnedScore(method, bins);
    const threshold = (Object.hasOwn(options.columnThresholds ?? {}, name) ? options.columnThresholds?.[name] : undefined) ?? options.threshold ?? METHODS[method].threshold;
    const drift: ColumnDrift = {
      columnType: bins.type,
      method,
      score: score.score,
      threshold,
      drifted: isDrifted(method, score.score, threshold),
      histogram: histogramDistances(bins.type === 'numeric' ? (cur.hist?.counts ?? []) : bins.current, bins.type === 'numeric' ? (ref.hist?.counts ?? []) : bins.reference),
      missing: { reference: ref.missing, current: cur.missing },
      count: { reference: nRef, current: nCur },
      distinct: nonEmpty,
    };
    if (score.statistic !== undefined && Number.isFinite(score.statistic)) drift.statistic = score.statistic;
    columns[name] = drift;
  }
  return {
    ...datasetDrift(columns, driftShare),
    referenceRows: Math.max(0, ...Object.values(reference).map((s) => s.count + s.missing)),
    currentRows: Math.max(0, ...Object.values(current).map((s) => s.count + s.missing)),
    columns,
    skippedColumns,
  };
}

/** Aligned counts of a reference/window stats pair, or undefined when they do not match. */
function binsOf(ref: FeatureStatsMap[string], cur: FeatureStatsMap[string]): { type: ColumnType; reference: number[]; current: number[] } | undefined {
  if (ref.hist && cur.hist && ref.hist.counts.length === cur.hist.counts.length) {
    return { type: 'numeric', reference: mergePadding(ref.hist.counts), current: mergePadding(cur.hist.counts) };
  }
  if (ref.categories && (cur.categories || cur.count === 0)) {
    const curCats = cur.categories ?? {};
    const keys = [...new Set([...Object.keys(ref.categories), ...Object.keys(curCats)])].sort();
    return {
      type: 'categorical',
      reference: keys.map((k) => (Object.hasOwn(ref.categories ?? {}, k) ? (ref.categories?.[k] ?? 0) : 0)),
      current: keys.map((k) => (Object.hasOwn(curCats, k) ? (curCats[k] ?? 0) : 0)),
    };
  }
  return undefined;
}

/**
 * The 22 histogram counts with the two padding bins (values outside the reference range)
 * merged into the first and last real bins. The window's counts put a value equal to the
 * reference maximum in the upper padding bin (numpy's edges, SPEC section 4), where the
 * reference has 0: chi-square would call that a new category and drift on unchanged data.
 */
function mergePadding(counts: readonly number[]): number[] {
  if (counts.length < 3) return [...counts];
  const out = counts.slice(1, -1);
  out[0] = (out[0] as number) + (counts[0] as number);
  out[out.length - 1] = (out[out.length - 1] as number) + (counts[counts.length - 1] as number);
  return out;
}

/** Column results and the dataset result of a report. */
export function toResults(report: DataDriftReport, mode: 'raw' | 'binned'): AppResult[] {
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
      extraData: { column, mode, ...measures },
    });
  }
  results.push({
    name: DATASET_DRIFT_RESULT,
    value: report.shareOfDriftedColumns,
    kind: ResultKind.data_drift,
    status: report.datasetDrift ? ResultStatus.detected : ResultStatus.no_detection,
    extraData: {
      mode,
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

function sum(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}
