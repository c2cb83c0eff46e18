import { isValidResultName } from '../common/names.ts';
import { ApplicationError } from '../common/errors.ts';
import {
  ResultKind,
  ResultStatus,
  type AppMetric,
  type AppResult,
  type ResultKindName,
  type ResultKindValue,
  type ResultStatusName,
  type ResultStatusValue,
} from '../common/types.ts';

/** What `doTracking` may return: one result, a list of results and metrics, or a `Record<string, number>` of metrics. */
export type ApplicationOutput =
  | AppResult
  | AppMetric
  | ReadonlyArray<AppResult | AppMetric | ResultInput>
  | ResultInput
  | Record<string, number>
  | null
  | undefined
  | void;

/** A result where kind and status may be given by name. */
export interface ResultInput {
  name: string;
  value: number;
  kind: ResultKindName | ResultKindValue;
  status: ResultStatusName | ResultStatusValue;
  extraData?: Record<string, unknown>;
}

/** Builds a result, accepting kind and status names (`'data_drift'`, `'detected'`). */
export function result(input: ResultInput): AppResult {
  return normalizeResult(input, 'result');
}

/** Builds a metric. */
export function metric(name: string, value: number): AppMetric {
  return { name, value };
}

/** Validates and splits an application's output into results and metrics. */
export function normalizeOutput(app: string, output: ApplicationOutput): { results: AppResult[]; metrics: AppMetric[] } {
  const results: AppResult[] = [];
  const metrics: AppMetric[] = [];
  if (output === null || output === undefined) return { results, metrics };
  const items: unknown[] = Array.isArray(output) ? [...output] : [output];
  for (const item of items) {
    if (typeof item !== 'object' || item === null) {
      throw new ApplicationError(app, `returned ${JSON.stringify(item)}; expected a result, a metric, a list of them or a record of metric values`);
    }
    const o = item as Record<string, unknown>;
    if ('kind' in o || 'status' in o) results.push(normalizeResult(o, app));
    else if ('name' in o && 'value' in o && Object.keys(o).every((k) => k === 'name' || k === 'value')) {
      metrics.push(checkMetric(o, app));
    } else if (!Array.isArray(output)) {
      for (const [name, value] of Object.entries(o)) metrics.push(checkMetric({ name, value }, app));
    } else {
      throw new ApplicationError(app, `list item ${JSON.stringify(o).slice(0, 200)} is neither a result nor a metric`);
    }
  }
  const seen = new Set<string>();
  for (const r of [...results.map((x) => `result.${x.name}`), ...metrics.map((x) => `metric.${x.name}`)]) {
    if (seen.has(r)) throw new ApplicationError(app, `returned '${r}' twice in one window`);
    seen.add(r);
  }
  return { results, metrics };
}

function checkMetric(o: Record<string, unknown>, app: string): AppMetric {
  if (!isValidResultName(o.name)) throw new ApplicationError(app, `metric name ${JSON.stringify(o.name)} must match [a-zA-Z_][a-zA-Z0-9_]*`);
  if (typeof o.value !== 'number' || !Number.isFinite(o.value)) {
    throw new ApplicationError(app, `metric '${o.name}' has value ${String(o.value)}; a finite number is needed`);
  }
  return { name: o.name, value: o.value };
}

function normalizeResult(o: Record<string, unknown> | ResultInput, app: string): AppResult {
  const r = o as Record<string, unknown>;
  if (!isValidResultName(r.name)) throw new ApplicationError(app, `result name ${JSON.stringify(r.name)} must match [a-zA-Z_][a-zA-Z0-9_]*`);
  if (typeof r.value !== 'number' || !Number.isFinite(r.value)) {
    throw new ApplicationError(app, `result '${r.name}' has value ${String(r.value)}; a finite number is needed`);
  }
  const kind = enumValue(ResultKind, r.kind);
  if (kind === undefined) throw new ApplicationError(app, `result '${r.name}' has kind ${JSON.stringify(r.kind)}; use one of ${Object.keys(ResultKind).join(', ')}`);
  const status = enumValue(ResultStatus, r.status);
  if (status === undefined) {
    throw new ApplicationError(app, `result '${r.name}' has status ${JSON.stringify(r.status)}; use one of ${Object.keys(ResultStatus).join(', ')}`);
  }
  const extra = r.extraData ?? {};
  if (typeof extra !== 'object' || extra === null || Array.isArray(extra)) throw new ApplicationError(app, `result '${r.name}' extraData must be an object`);
  return { name: r.name, value: r.value, kind: kind as ResultKindValue, status: status as ResultStatusValue, extraData: extra as Record<string, unknown> };
}

function enumValue(e: Record<string, number>, v: unknown): number | undefined {
  if (typeof v === 'string') return e[v];
  if (typeof v === 'number' && Object.values(e).includes(v)) return v;
  return undefined;
}
