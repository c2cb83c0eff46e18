import fs from 'node:fs/promises';
import type { FeatureStats, FeatureStatsMap, EndpointRecord } from '../common/types.ts';
import { ApplicationError } from '../common/errors.ts';
import { checkPathSegment, resolveUnder } from '../common/safe-path.ts';
import type { Logger } from '../common/logger.ts';
import type { Tsdb, WindowHistogram, PredictionRow } from '../store/tsdb-port.ts';
import { categoricalWindowStats, currentStatsOnReference } from '../stats/feature-stats.ts';
import type { MonitoringApplicationContext, ReferenceData, WindowSample } from './context.ts';

export interface BuildContextInput {
  appName: string;
  endpoint: EndpointRecord;
  windowStart: number;
  windowEnd: number;
  tsdb: Tsdb;
  artifactPath: string;
  logger: Logger;
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
  /** The training set of a model by its URI, for `ctx.reference()` (see `TrainingSets`); without it there is none. */
  trainingSet?: (modelUri: string) => Promise<ReferenceData | undefined>;
}

/**
 * Builds the context an application sees for one (endpoint, window). The window's rows are
 * read only when they are needed: for `sample` (unless `withSample` is false) or when no
 * histograms kept at ingest match the window.
 */
export async function buildContext(input: BuildContextInput): Promise<MonitoringApplicationContext> {
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
  let reference: Promise<ReferenceData | undefined> | undefined;
  const logger = input.logger.child({ app: input.appName, endpoint: ep.id, windowStart: new Date(windowStart).toISOString() });
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
    windowStart: new Date(windowStart),
    windowEnd: new Date(windowEnd),
    get sample(): WindowSample {
      if (!sample) throw new ApplicationError(input.appName, 'reads ctx.sample but declares usesSample = false, so the window rows were not loaded; drop that declaration to get them');
      return sample;
    },
    sampleStats,
    featureStats: ep.featureStats,
    reference: () => (reference ??= input.trainingSet ? input.trainingSet(ep.modelUri) : Promise.resolve(undefined)),
    options: input.options,
    logger: {
      info: (msg, data) => logger.info(data ?? {}, msg),
      warn: (msg, data) => logger.warn(data ?? {}, msg),
      error: (msg, data) => logger.error(data ?? {}, msg),
    },
    logArtifact: async (name, body, opts) => {
      checkPathSegment('artifact name', name);
      const format = opts?.format ?? (typeof body === 'string' ? (body.trimStart().startsWith('<') ? 'html' : 'csv') : 'json');
      // Every part is a checked name: an endpoint id from the stream cannot lead out of the folder.
      const dir = resolveUnder(input.artifactPath, ep.project, 'apps', input.appName, ep.id, String(windowStart));
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
