import fs from 'node:fs/promises';
import type { FeatureStats, FeatureStatsMap, EndpointRecord } from '../common/types.ts';
import { ApplicationError } from '../common/errors.ts';
import { checkPathSegment, resolveUnder } from '../common/safe-path.ts';
import type { Logger } from '../common/logger.ts';
import type { Tsdb, WindowHistogram, PredictionRow } from '../store/tsdb-port.ts';
import { categoricalWindowStats, currentStatsOnReference } from '../stats/feature-stats.ts';
import type { EndpointInfo, MonitoringApplicationContext, ReferenceData, WindowSample } from './context.ts';

/** What the window's data is read for. */
export interface ContextDataInput {
  appName: string;
  endpoint: EndpointRecord;
  windowStart: number;
  windowEnd: number;
  tsdb: Tsdb;
  options: Record<string, unknown>;
  /** Reservoir size for `sample`. @default 10_000 */
  sampleSize?: number;
  /** Seeded random source for the reservoir (tests). */
  random?: () => number;
  /**
   * Read the window's rows for `sample`. False for apps that work from `sampleStats` alone (see
   * `MonitoringApplication.usesSample`): the rows are then read only when no ingest histograms
   * match the window, and `ctx.sample` throws. @default true
   */
  withSample?: boolean;
}

/**
 * The data of one (endpoint, window) context: plain values, so that it can be handed to the
 * thread an application runs in (structured clone).
 */
export interface ContextData {
  applicationName: string;
  project: string;
  endpoint: EndpointInfo;
  startMs: number;
  endMs: number;
  /** Undefined when the rows were not read (`withSample: false`). */
  sample: WindowSample | undefined;
  sampleStats: FeatureStatsMap;
  featureStats: FeatureStatsMap;
  options: Record<string, unknown>;
}

/** What a context does besides holding its data, on the thread where the app runs. */
export interface ContextServices {
  artifactPath: string;
  log: (level: 'info' | 'warn' | 'error', msg: string, data: Record<string, unknown> | undefined) => void;
  /** The training set of a model by its URI, for `ctx.reference()`. */
  trainingSet: (modelUri: string) => Promise<ReferenceData | undefined>;
}

export interface BuildContextInput extends ContextDataInput {
  artifactPath: string;
  logger: Logger;
  /** The training set of a model by its URI, for `ctx.reference()` (see `TrainingSets`); without it there is none. */
  trainingSet?: (modelUri: string) => Promise<ReferenceData | undefined>;
}

/** Builds the context an application sees for one (endpoint, window), on the calling thread. */
export async function buildContext(input: BuildContextInput): Promise<MonitoringApplicationContext> {
  const data = await buildContextData(input);
  return contextFromData(data, {
    artifactPath: input.artifactPath,
    log: contextLog(input.logger, data),
    trainingSet: input.trainingSet ?? (() => Promise.resolve(undefined)),
  });
}

/**
 * Reads what an application sees of one (endpoint, window). The window's rows are read only
 * when they are needed: for `sample` (unless `withSample` is false) or when no histograms kept at
 * ingest match the window.
 */
export async function buildContextData(input: ContextDataInput): Promise<ContextData> {
  const { endpoint: ep, tsdb, windowStart, windowEnd } = input;
  const window = { start: windowStart, end: windowEnd };
  const hists = await tsdb.readWindowHistograms(ep.project, ep.id, windowStart, windowEnd);
  // Histograms kept at ingest cover every row; they are used when they match this window (a
  // changed base period leaves them on other boundaries) and were counted by the current rule (rows
  // stored before migration 005 lack `atMax`); else the rows are binned here.
  const histsMatch = hists.length > 0 && hists.every((h) => h.windowStart === windowStart && h.windowEnd === windowEnd && h.atMax !== null);
  const rows = input.withSample !== false || !histsMatch ? await tsdb.readPredictions(ep.project, ep.id, window) : undefined;
  const sampleStats = histsMatch ? statsFromHistograms(hists, ep.featureStats) : currentStatsOnReference(ep.featureStats, toSample(ep, rows ?? [], rows?.length ?? 0).columns);
  const sample = rows ? toSample(ep, reservoir(rows, input.sampleSize ?? 10_000, input.random ?? Math.random), rows.length) : undefined;
  return {
    applicationName: input.appName,
    project: ep.project,
    endpoint: {
      id: ep.id,
      name: ep.name,
      function: ep.function,
      model: ep.model,
      modelVersion: ep.modelVersion,
      modelUri: ep.modelUri,
      featureNames: ep.featureNames,
      labelNames: ep.labelNames,
    },
    startMs: windowStart,
    endMs: windowEnd,
    sample,
    sampleStats,
    featureStats: ep.featureStats,
    options: input.options,
  };
}

/** The log lines of an app on a window, on `logger`, tagged with the app, endpoint and window. */
export function contextLog(logger: Logger, data: Pick<ContextData, 'applicationName' | 'endpoint' | 'startMs'>): ContextServices['log'] {
  const child = logger.child({ app: data.applicationName, endpoint: data.endpoint.id, windowStart: new Date(data.startMs).toISOString() });
  return (level, msg, extra) => child[level](extra ?? {}, msg);
}

/** The context an application's `doTracking` gets, from the window's data. */
export function contextFromData(data: ContextData, services: ContextServices): MonitoringApplicationContext {
  const { sample, endpoint: ep } = data;
  let reference: Promise<ReferenceData | undefined> | undefined;
  return {
    applicationName: data.applicationName,
    project: data.project,
    endpoint: ep,
    startMs: data.startMs,
    endMs: data.endMs,
    windowStart: new Date(data.startMs),
    windowEnd: new Date(data.endMs),
    get sample(): WindowSample {
      if (!sample) throw new ApplicationError(data.applicationName, 'reads ctx.sample but declares usesSample = false, so the window rows were not loaded; drop that declaration to get them');
      return sample;
    },
    sampleStats: data.sampleStats,
    featureStats: data.featureStats,
    reference: () => (reference ??= services.trainingSet(ep.modelUri)),
    options: data.options,
    logger: {
      info: (msg, extra) => services.log('info', msg, extra),
      warn: (msg, extra) => services.log('warn', msg, extra),
      error: (msg, extra) => services.log('error', msg, extra),
    },
    logArtifact: async (name, body, opts) => {
      checkPathSegment('artifact name', name);
      const format = opts?.format ?? (typeof body === 'string' ? (body.trimStart().startsWith('<') ? 'html' : 'csv') : 'json');
      // Every part is a checked name: an endpoint id from the stream cannot lead out of the folder.
      const dir = resolveUnder(services.artifactPath, data.project, 'apps', data.applicationName, ep.id, String(data.startMs));
      const file = resolveUnder(dir, name.includes('.') ? name : `${name}.${format}`);
      await fs.mkdir(dir, { recursive: true });
      await fs.writeFile(file, typeof body === 'string' ? body : JSON.stringify(body, null, 2));
      return file;
    },
  };
}

function reservoir<T>(rows: T[], k: number, random: () => number): T[] {
  if (rows.length <= k) return rows;
  const out = rows.slice(0, k);
  for (let i = k; i < rows.length; i++) {
    const j = Math.floor(random() * (i + 1));
    if (j < k) out[j] = rows[i]!;
  }
  return out;
}

function toSample(ep: EndpointRecord, rows: PredictionRow[], total: number): WindowSample {
  const columns: Record<string, unknown[]> = {};
  ep.featureNames.forEach((name, i) => (columns[name] = rows.map((r) => r.features[i] ?? null)));
  ep.labelNames.forEach((name, i) => (columns[name] = rows.map((r) => r.outputs[i] ?? null)));
  return { columns, rowCount: rows.length, totalRows: total, requestIds: rows.map((r) => r.requestId), times: rows.map((r) => r.time) };
}

/**
 * Window statistics from the histograms and moments kept at ingest, shaped as
 * `currentStatsOnReference` shapes them from rows: numeric features with `hist` on the reference
 * edges (and `atMax`), categorical ones with every reference category and `other`.
 */
export function statsFromHistograms(hists: WindowHistogram[], reference: FeatureStatsMap): FeatureStatsMap {
  const out: FeatureStatsMap = {};
  for (const h of hists) {
    const ref = Object.hasOwn(reference, h.feature) ? reference[h.feature] : undefined;
    if (h.categories !== null) {
      const stats = categoricalWindowStats(ref?.categories ?? {}, new Map(Object.entries(h.categories)), h.categoryOther, h.count, h.missing);
      Object.defineProperty(out, h.feature, { value: stats, enumerable: true, writable: true, configurable: true });
      continue;
    }
    const n = h.count;
    const mean = n > 0 ? h.sum / n : undefined;
    const variance = n > 1 && mean !== undefined ? Math.max(0, (h.sumSq - n * mean * mean) / (n - 1)) : undefined;
    const s: FeatureStats = { count: n, missing: h.missing };
    if (mean !== undefined) s.mean = mean;
    if (variance !== undefined) s.std = Math.sqrt(variance);
    if (h.min !== null) s.min = h.min;
    if (h.max !== null) s.max = h.max;
    const edges = ref?.hist?.edges;
    if (edges && h.counts.length === edges.length - 1) s.hist = h.atMax === null ? { counts: h.counts, edges } : { counts: h.counts, edges, atMax: h.atMax };
    Object.defineProperty(out, h.feature, { value: s, enumerable: true, writable: true, configurable: true });
  }
  return out;
}
