import type { Insertable, Selectable } from 'kysely';
import { ValidationError } from '../common/errors.ts';
import { wellFormed } from '../common/event-limits.ts';
import type { ResultKindValue, ResultStatusValue } from '../common/types.ts';
import { finiteOrNull, fromJson, num, numOrNull, toJson } from './codec.ts';
import type { Database } from './schema.ts';
import type { DeadLetterRow, ErrorRow, MetricRow, PredictionRow, ResultRow, WindowHistogram } from './tsdb-port.ts';

/* Mapping between the tsdb's rows and the port's records, and the histogram arithmetic. */

type Row<T extends keyof Database> = Selectable<Database[T]>;

/** Encodes a record as a row (prediction). */
export function predictionToRow(p: PredictionRow): Insertable<Database['predictions']> {
  return {
    project: p.project,
    endpoint_id: p.endpointId,
    time: p.time,
    latency_us: Math.round(p.latencyUs),
    request_id: p.requestId,
    row_index: p.rowIndex,
    features: p.featuresJson ?? toJson(p.features),
    outputs: p.outputsJson ?? toJson(p.outputs),
    labels: p.labels === undefined || p.labels === null ? null : toJson(p.labels),
  };
}

/** Decodes a row into its record (Prediction). */
export function rowToPrediction(r: Row<'predictions'>): PredictionRow {
  return {
    project: r.project,
    endpointId: r.endpoint_id,
    time: num(r.time),
    latencyUs: num(r.latency_us),
    requestId: r.request_id,
    rowIndex: num(r.row_index),
    features: fromJson(r.features, []),
    outputs: fromJson(r.outputs, []),
    labels: fromJson(r.labels, null),
  };
}

/**
 * Encodes a record as a row (error). NUL characters become U+FFFD: PostgreSQL text cannot hold
 * them, and one such message from a model would otherwise fail its whole ingest batch, again on
 * every redelivery; so do lone surrogates, as PostgreSQL and MySQL store them (see `wellFormed`).
 */
export function errorToRow(e: ErrorRow): Insertable<Database['errors']> {
  return { project: e.project, endpoint_id: e.endpointId, time: e.time, request_id: e.requestId, error: wellFormed(e.error.replace(/\0/g, '\uFFFD')) };
}

/** Decodes a row into its record (Error). */
export function rowToError(r: Row<'errors'>): ErrorRow {
  return { project: r.project, endpointId: r.endpoint_id, time: num(r.time), requestId: r.request_id, error: r.error };
}

/** Encodes a record as a row (histogram). */
export function histogramToRow(h: WindowHistogram): Insertable<Database['window_histograms']> {
  return {
    project: h.project,
    endpoint_id: h.endpointId,
    window_start: h.windowStart,
    window_end: h.windowEnd,
    feature: h.feature,
    counts: toJson(h.counts),
    at_max: h.atMax,
    categories: h.categories === null ? null : toJson(h.categories),
    category_other: h.categoryOther,
    count: h.count,
    missing: h.missing,
    sum: saturated(h.sum),
    sum_sq: saturated(h.sumSq),
    min: finiteOrNull(h.min),
    max: finiteOrNull(h.max),
  };
}

/**
 * A running sum as a double every backend stores: past ±Number.MAX_VALUE (values near it, or their
 * squares) it stays at ±Number.MAX_VALUE, which MySQL takes where it refuses infinities (and NaN,
 * what sums overflowing both ways come to, is 0).
 */
export function saturated(v: number): number {
  if (Number.isFinite(v)) return v;
  return v === Infinity ? Number.MAX_VALUE : v === -Infinity ? -Number.MAX_VALUE : 0;
}

/** Encodes a record as a row (dead letter). */
export function deadLetterToRow(d: DeadLetterRow): Insertable<Database['dead_letters']> {
  return {
    project: d.project,
    endpoint_id: d.endpointId,
    request_id: d.requestId,
    stream_partition: d.partition,
    stream_offset: d.offset,
    time: d.time,
    reason: d.reason,
    event: d.event,
    event_chars: d.eventChars,
  };
}

/** Decodes a row into its record (dead letter). */
export function rowToDeadLetter(r: Row<'dead_letters'>): DeadLetterRow {
  return {
    id: num(r.id),
    project: r.project,
    endpointId: r.endpoint_id,
    requestId: r.request_id,
    partition: num(r.stream_partition),
    offset: r.stream_offset,
    time: num(r.time),
    reason: r.reason,
    event: r.event,
    eventChars: num(r.event_chars),
  };
}

/** Decodes a row into its record (Histogram). */
export function rowToHistogram(r: Row<'window_histograms'>): WindowHistogram {
  return {
    project: r.project,
    endpointId: r.endpoint_id,
    windowStart: num(r.window_start),
    windowEnd: num(r.window_end),
    feature: r.feature,
    counts: fromJson(r.counts, []),
    atMax: numOrNull(r.at_max),
    categories: fromJson<Record<string, number> | null>(r.categories, null),
    categoryOther: num(r.category_other),
    count: num(r.count),
    missing: num(r.missing),
    sum: num(r.sum),
    sumSq: num(r.sum_sq),
    min: numOrNull(r.min),
    max: numOrNull(r.max),
  };
}

/** The key of a window histogram row. */
export function histogramKey(h: { project: string; endpointId: string; windowStart: number; feature: string }): string {
  return JSON.stringify([h.project, h.endpointId, h.windowStart, h.feature]);
}

/**
 * Adds two histograms of one feature: counts element-wise, values at the maximum summed (unknown
 * when either side's is), category counts summed by category, moments summed, range widened.
 */
export function mergeHistograms(a: WindowHistogram, b: WindowHistogram): WindowHistogram {
  const n = Math.max(a.counts.length, b.counts.length);
  const counts = Array.from({ length: n }, (_, i) => (a.counts[i] ?? 0) + (b.counts[i] ?? 0));
  return {
    ...a,
    windowStart: Math.min(a.windowStart, b.windowStart),
    windowEnd: Math.max(a.windowEnd, b.windowEnd),
    counts,
    atMax: a.atMax === null || b.atMax === null ? null : a.atMax + b.atMax,
    categories: addCategories(a.categories, b.categories),
    categoryOther: a.categoryOther + b.categoryOther,
    count: a.count + b.count,
    missing: a.missing + b.missing,
    sum: a.sum + b.sum,
    sumSq: a.sumSq + b.sumSq,
    min: pick(a.min, b.min, Math.min),
    max: pick(a.max, b.max, Math.max),
  };
}

function addCategories(a: Record<string, number> | null, b: Record<string, number> | null): Record<string, number> | null {
  if (a === null || b === null) return a ?? b;
  // A Map, then fromEntries (own data properties), so that a category named `__proto__` is safe.
  const sum = new Map(Object.entries(a));
  for (const [k, n] of Object.entries(b)) sum.set(k, (sum.get(k) ?? 0) + n);
  return Object.fromEntries(sum);
}

function pick(a: number | null, b: number | null, f: (x: number, y: number) => number): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return f(a, b);
}

/** Merges histograms that share a key, keeping first-seen order. */
export function mergeByKey(hs: readonly WindowHistogram[]): Map<string, WindowHistogram> {
  const out = new Map<string, WindowHistogram>();
  for (const h of hs) {
    const k = histogramKey(h);
    const prev = out.get(k);
    out.set(k, prev ? mergeHistograms(prev, h) : { ...h, counts: [...h.counts], categories: h.categories && { ...h.categories } });
  }
  return out;
}

/** Result and metric values must be finite: MySQL stores neither NaN nor Infinity, SQLite turns NaN into NULL. */
function finiteValue(what: string, name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new ValidationError(`${what} '${name}' has a value that is not a finite number (${String(value)})`, { name });
  }
  return value;
}

/** Encodes a record as a row (result). */
export function resultToRow(r: ResultRow): Insertable<Database['app_results']> {
  return {
    project: r.project,
    endpoint_id: r.endpointId,
    app: r.app,
    name: r.name,
    kind: r.kind,
    status: r.status,
    value: finiteValue('result', r.name, r.value),
    extra_data: toJson(r.extraData ?? {}),
    window_start: r.windowStart,
    window_end: r.windowEnd,
    written_at: r.writtenAt,
  };
}

/** Decodes a row into its record (Result). */
export function rowToResult(r: Row<'app_results'>): ResultRow {
  return {
    project: r.project,
    endpointId: r.endpoint_id,
    app: r.app,
    name: r.name,
    kind: num(r.kind) as ResultKindValue,
    status: num(r.status) as ResultStatusValue,
    value: num(r.value),
    extraData: fromJson(r.extra_data, {}),
    windowStart: num(r.window_start),
    windowEnd: num(r.window_end),
    writtenAt: num(r.written_at),
  };
}

/** Encodes a record as a row (metric). */
export function metricToRow(m: MetricRow): Insertable<Database['metrics']> {
  return {
    project: m.project,
    endpoint_id: m.endpointId,
    app: m.app,
    name: m.name,
    value: finiteValue('metric', m.name, m.value),
    window_start: m.windowStart,
    window_end: m.windowEnd,
    written_at: m.writtenAt,
  };
}

/** Decodes a row into its record (Metric). */
export function rowToMetric(r: Row<'metrics'>): MetricRow {
  return {
    project: r.project,
    endpointId: r.endpoint_id,
    app: r.app,
    name: r.name,
    value: num(r.value),
    windowStart: num(r.window_start),
    windowEnd: num(r.window_end),
    writtenAt: num(r.written_at),
  };
}
