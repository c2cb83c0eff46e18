import type BetterSqlite3 from 'better-sqlite3';
import { sql, type Kysely } from 'kysely';
import { ValidationError } from '../common/errors.ts';
import { wellFormed } from '../common/event-limits.ts';
import type { Window } from '../common/types.ts';
import type { SqlBackend } from './backend.ts';
import { num } from './codec.ts';
import { retryBusy, upsert, writeTx, type DialectTraits } from './dialect.ts';
import { writeIngestBatchTx } from './ingest.ts';
import { DAY_MS, DEFAULT_RETENTION_BATCH, deleteOlderThan, startRetention } from './retention.ts';
import type { Database } from './schema.ts';
import type { ThreadClient } from '../common/worker-thread.ts';
import { writeIngestBatchSqlite } from './sqlite/ingest.ts';
import { packIngestBatch, unpackIngestBatch, type PackedIngestBatch } from './sqlite/ingest-message.ts';
import { IngestThreadStoppedError, ingestWriterThread, leaveCheckpointsToThread } from './sqlite/ingest-writer.ts';
import type {
  DeadLetterQuery,
  DeadLetterRow,
  ErrorRow,
  IngestBatch,
  MetricRow,
  PredictionRow,
  PredictionSummaries,
  ResultRow,
  RetentionCounts,
  SeriesQuery,
  Tsdb,
  WindowHistogram,
} from './tsdb-port.ts';
import { bucketCeil } from './rollups.ts';
import * as rows from './tsdb-rows.ts';

type SeriesTable = 'app_results' | 'metrics';

/** Ids per `in (...)` list: well within every engine's parameter limit. */
const ID_CHUNK = 1000;

/** Options of {@link KyselyTsdb}. */
export interface KyselyTsdbOptions {
  /** Delete rows older than this many days, hourly in the background. @default undefined (keep all) */
  retentionDays?: number;
  /** Milliseconds between retention rounds. @default 3600000 */
  retentionIntervalMs?: number;
  /** Where background retention failures go. @default ignored (the next round tries again) */
  onRetentionError?: (err: unknown) => void;
  /**
   * SQLite files: write ingest batches on a thread of their own (see `sqlite/ingest-writer.ts`).
   * In-memory databases always write on the calling thread. @default true
   */
  writerThread?: boolean;
  /** SQLite: the writer thread's busy timeout (ms). @default 5000 */
  busyTimeoutMs?: number;
  /** Told once if the writer thread cannot start or dies (batches are then written on the calling thread). */
  onWriterThreadError?: (err: Error) => void;
}

/**
 * The time-series tables over any Kysely database. Ingest writes a whole batch and the consumer's
 * checkpoint in one transaction, so a batch delivered again after a crash is written once.
 */
export class KyselyTsdb implements Tsdb {
  readonly url: string;
  private readonly backend: SqlBackend;
  private readonly db: Kysely<Database>;
  private readonly traits: DialectTraits;
  private readonly stopRetention: (() => void) | undefined;
  /** SQLite files: the ingest writer thread (see {@link KyselyTsdbOptions.writerThread}). */
  private readonly ingestThread: ThreadClient<PackedIngestBatch> | undefined;
  /** Gives the file's checkpoints back to this process's handle, while the thread has them. */
  private giveBack: (() => void) | undefined;
  private closed = false;

  constructor(url: string, backend: SqlBackend, opts: KyselyTsdbOptions = {}) {
    this.url = url;
    this.backend = backend;
    this.db = backend.db;
    this.traits = backend.traits;
    const raw = backend.sqlite;
    if (raw && !raw.memory && opts.writerThread !== false) {
      this.ingestThread = ingestWriterThread(raw.name, opts.busyTimeoutMs ?? 5000, (err) => {
        this.giveCheckpointsBack();
        opts.onWriterThreadError?.(err);
      });
      // While the thread runs, its connection alone checkpoints the file (see leaveCheckpointsToThread).
      void this.ingestThread.started.then((running) => {
        if (running && !this.closed && raw.open && !this.ingestThread!.failed) this.giveBack = leaveCheckpointsToThread(raw);
      });
    }
    const days = opts.retentionDays;
    this.stopRetention =
      days === undefined || days <= 0
        ? undefined
        : startRetention((cutoff) => this.deleteOlderThan(cutoff), days * DAY_MS, { intervalMs: opts.retentionIntervalMs, onError: opts.onRetentionError });
  }

  private giveCheckpointsBack(): void {
    this.giveBack?.();
    this.giveBack = undefined;
  }

  get writesInProcess(): boolean {
    return this.backend.sqlite !== undefined && (this.ingestThread === undefined || this.ingestThread.failed);
  }

  prepareIngest(): void {
    this.ingestThread?.start();
  }

  /**
   * Starts the ingest writer thread (see {@link KyselyTsdbOptions.writerThread}) and settles once
   * batches go to it (true), or never will (false: no thread, it failed, or the tsdb closed).
   */
  ingestThreadStarted(): Promise<boolean> {
    const thread = this.ingestThread;
    if (!thread) return Promise.resolve(false);
    thread.start();
    return thread.started;
  }

  migrate(): Promise<void> {
    return this.backend.migrate();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopRetention?.();
    await this.ingestThread?.stop();
    this.giveCheckpointsBack();
    await this.backend.release();
  }

  /** Batched deletes by the time-led indexes; see {@link deleteOlderThan} in `retention.ts`. */
  deleteOlderThan(cutoffMs: number, opts: { batchSize?: number } = {}): Promise<RetentionCounts> {
    return deleteOlderThan(this.db, this.traits, cutoffMs, opts.batchSize ?? DEFAULT_RETENTION_BATCH);
  }

  /**
   * `checkpoint.offset` must be the highest offset of the batch; see {@link writeIngestBatchTx}
   * for what is skipped when a batch comes again.
   */
  writeIngestBatch(batch: IngestBatch): Promise<void> {
    const raw = this.backend.sqlite;
    if (!raw) return writeTx(this.db, this.traits, (tx) => writeIngestBatchTx(tx, this.traits, batch));
    const thread = this.ingestThread;
    thread?.start();
    if (!thread?.ready) return this.writeHere(raw, batch);
    let packed: PackedIngestBatch;
    try {
      // Packed at once: from here on only the packed form is kept, not the caller's rows.
      packed = packIngestBatch(batch);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return this.writeOnThread(raw, thread, packed);
  }

  private async writeOnThread(raw: BetterSqlite3.Database, thread: ThreadClient<PackedIngestBatch>, packed: PackedIngestBatch): Promise<void> {
    try {
      await retryBusy(() => thread.request(packed));
    } catch (err) {
      if (!(err instanceof IngestThreadStoppedError)) throw err;
      // Written again here; a batch the thread did commit is skipped by its checkpoint.
      await this.writeHere(raw, unpackIngestBatch(packed));
    }
  }

  private async writeHere(raw: BetterSqlite3.Database, batch: IngestBatch): Promise<void> {
    // Holding the connection keeps every Kysely query (and transaction) off the handle meanwhile.
    await this.db.connection().execute(() => retryBusy(async () => writeIngestBatchSqlite(raw, batch)));
  }

  async getCheckpoint(consumer: string, partition: number): Promise<string | undefined> {
    const r = await this.db
      .selectFrom('ingest_checkpoints')
      .select('stream_offset')
      .where('consumer', '=', consumer)
      .where('stream_partition', '=', partition)
      .executeTakeFirst();
    return r?.stream_offset;
  }

  async countPredictions(project: string, endpointId: string, window: Window): Promise<number> {
    const r = await this.db
      .selectFrom('predictions')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('project', '=', project)
      .where('endpoint_id', '=', endpointId)
      .where('time', '>=', window.start)
      .where('time', '<', window.end)
      .executeTakeFirst();
    return num(r?.n as number | string | bigint | undefined);
  }

  /** Named endpoints, so that each count is a range of the (project, endpoint, time) index. */
  async countPredictionsByEndpoint(project: string, endpointIds: readonly string[], window: Window): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const ids = [...new Set(endpointIds)];
    for (let i = 0; i < ids.length; i += ID_CHUNK) {
      const rs = await this.db
        .selectFrom('predictions')
        .select((eb) => ['endpoint_id', eb.fn.countAll().as('n')])
        .where('project', '=', project)
        .where('endpoint_id', 'in', ids.slice(i, i + ID_CHUNK))
        .where('time', '>=', window.start)
        .where('time', '<', window.end)
        .groupBy('endpoint_id')
        .execute();
      for (const r of rs) out.set(r.endpoint_id, num(r.n as number | string | bigint));
    }
    return out;
  }

  async readPredictions(project: string, endpointId: string, window: Window, opts: { limit?: number } = {}): Promise<PredictionRow[]> {
    let q = this.db
      .selectFrom('predictions')
      .selectAll()
      .where('project', '=', project)
      .where('endpoint_id', '=', endpointId)
      .where('time', '>=', window.start)
      .where('time', '<', window.end)
      .orderBy('time')
      .orderBy('request_id')
      .orderBy('row_index');
    if (opts.limit !== undefined) q = q.limit(opts.limit);
    return (await q.execute()).map(rows.rowToPrediction);
  }

  /** By the (project, endpoint, request id) index; requests that share an id in time order. */
  async readPredictionsByRequest(project: string, endpointId: string, requestIds: readonly string[]): Promise<PredictionRow[]> {
    if (requestIds.length === 0) return [];
    const out: PredictionRow[] = [];
    // As the stream processor stores them (see `wellFormed`).
    const ids = [...new Set(requestIds.map(wellFormed))].sort();
    for (let i = 0; i < ids.length; i += ID_CHUNK) {
      const rs = await this.db
        .selectFrom('predictions')
        .selectAll()
        .where('project', '=', project)
        .where('endpoint_id', '=', endpointId)
        .where('request_id', 'in', ids.slice(i, i + ID_CHUNK))
        .orderBy('request_id')
        .orderBy('time')
        .orderBy('row_index')
        .execute();
      for (const r of rs) out.push(rows.rowToPrediction(r));
    }
    return out;
  }

  /** Newest first, by the (project, time) index. */
  async listDeadLetters(project: string, q: DeadLetterQuery = {}): Promise<DeadLetterRow[]> {
    let b = this.db.selectFrom('dead_letters').selectAll().where('project', '=', project);
    if (q.endpointId !== undefined) b = b.where('endpoint_id', '=', q.endpointId);
    if (q.since !== undefined) b = b.where('time', '>=', q.since);
    b = b.orderBy('time', 'desc').orderBy('id', 'desc');
    if (q.limit !== undefined) b = b.limit(q.limit);
    return (await b.execute()).map(rows.rowToDeadLetter);
  }

  async readErrors(project: string, endpointId: string, window: Window): Promise<ErrorRow[]> {
    const rs = await this.db
      .selectFrom('errors')
      .selectAll()
      .where('project', '=', project)
      .where('endpoint_id', '=', endpointId)
      .where('time', '>=', window.start)
      .where('time', '<', window.end)
      .orderBy('time')
      .execute();
    return rs.map(rows.rowToError);
  }

  async predictionSummary(project: string, since: number): Promise<{ endpointId: string; count: number; latencyAvgUs: number }[]> {
    const rs = await this.db
      .selectFrom('predictions')
      .select((eb) => ['endpoint_id', eb.fn.countAll().as('n'), eb.fn.avg('latency_us').as('latency')])
      .where('project', '=', project)
      .where('time', '>=', since)
      .groupBy('endpoint_id')
      .orderBy('endpoint_id')
      .execute();
    return rs.map((r) => ({ endpointId: r.endpoint_id, count: num(r.n as number | string | bigint), latencyAvgUs: num(r.latency) }));
  }

  /**
   * One pass over the predictions since the earliest of `sinces`, with a conditional count and
   * latency sum per time: the live metrics' several windows cost one index range scan, not one each.
   */
  async predictionSummaries(project: string, sinces: readonly number[]): Promise<PredictionSummaries[]> {
    if (sinces.length === 0) return [];
    for (const s of sinces) if (!Number.isFinite(s)) throw new ValidationError(`predictionSummaries needs finite times (epoch ms), got ${String(s)}`);
    // Since each time: the whole buckets after it from the rollups, and the rows of the bucket it
    // falls in (from the time to that bucket's end) from the predictions themselves.
    const ceils = sinces.map(bucketCeil);
    const totals = new Map<string, { n: number[]; l: number[] }>();
    const add = (id: string, i: number, n: number, l: number) => {
      let t = totals.get(id);
      if (!t) totals.set(id, (t = { n: sinces.map(() => 0), l: sinces.map(() => 0) }));
      t.n[i]! += n;
      t.l[i]! += l;
    };
    const bucket = sql.ref('bucket_start');
    const columns = ceils.flatMap((c, i) => [
      sql<number | string | bigint | null>`sum(case when ${bucket} >= ${c} then predictions else 0 end)`.as(`n${i}`),
      sql<number | string | bigint | null>`sum(case when ${bucket} >= ${c} then latency_us_sum else 0 end)`.as(`l${i}`),
    ]);
    const rolled = (await this.db
      .selectFrom('prediction_rollups')
      .select(['endpoint_id', ...columns])
      .where('project', '=', project)
      .where('bucket_start', '>=', Math.min(...ceils))
      .groupBy('endpoint_id')
      .execute()) as unknown as Record<string, number | string | bigint | null>[];
    for (const r of rolled) sinces.forEach((_, i) => add(String(r.endpoint_id), i, num(r[`n${i}`]), num(r[`l${i}`])));
    for (let i = 0; i < sinces.length; i++) {
      if (sinces[i]! >= ceils[i]!) continue;
      const rs = await this.db
        .selectFrom('predictions')
        .select((eb) => ['endpoint_id', eb.fn.countAll<number | string | bigint>().as('n'), eb.fn.sum<number | string | bigint | null>('latency_us').as('l')])
        .where('project', '=', project)
        .where('time', '>=', sinces[i]!)
        .where('time', '<', ceils[i]!)
        .groupBy('endpoint_id')
        .execute();
      for (const r of rs) add(r.endpoint_id, i, num(r.n), num(r.l));
    }
    return [...totals]
      .filter(([, t]) => t.n.some((n) => n > 0))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([endpointId, t]) => ({ endpointId, counts: t.n, latencyAvgUs: t.n.map((n, i) => (n > 0 ? t.l[i]! / n : null)) }));
  }

  /**
   * The histograms of every base-period window starting in `[windowStart, windowEnd)`, added up
   * per feature — one stored window when the range is one base period, their sum when it spans more.
   */
  async readWindowHistograms(project: string, endpointId: string, windowStart: number, windowEnd: number): Promise<WindowHistogram[]> {
    const rs = await this.db
      .selectFrom('window_histograms')
      .selectAll()
      .where('project', '=', project)
      .where('endpoint_id', '=', endpointId)
      .where('window_start', '>=', windowStart)
      .where('window_start', '<', windowEnd)
      .orderBy('window_start')
      .orderBy('feature')
      .execute();
    const byFeature = new Map<string, WindowHistogram>();
    for (const h of rs.map(rows.rowToHistogram)) {
      const prev = byFeature.get(h.feature);
      byFeature.set(h.feature, prev ? rows.mergeHistograms(prev, h) : h);
    }
    return [...byFeature.values()];
  }

  async writeResults(results: ResultRow[]): Promise<void> {
    const rs = results.map(rows.resultToRow);
    await writeTx(this.db, this.traits, (tx) => upsert(tx, this.traits, 'app_results', rs, ['project', 'endpoint_id', 'app', 'name', 'window_start']));
  }

  async writeMetrics(metrics: MetricRow[]): Promise<void> {
    const rs = metrics.map(rows.metricToRow);
    await writeTx(this.db, this.traits, (tx) => upsert(tx, this.traits, 'metrics', rs, ['project', 'endpoint_id', 'app', 'name', 'window_start']));
  }

  /** In window order; with `limit`, the most recent `limit` rows (still in window order). */
  async listResults(project: string, q: SeriesQuery = {}): Promise<ResultRow[]> {
    return (await this.series('app_results', project, q)).map((r) => rows.rowToResult(r as Parameters<typeof rows.rowToResult>[0]));
  }

  /** In window order; with `limit`, the most recent `limit` rows (still in window order). */
  async listMetrics(project: string, q: SeriesQuery = {}): Promise<MetricRow[]> {
    return (await this.series('metrics', project, q)).map((r) => rows.rowToMetric(r as Parameters<typeof rows.rowToMetric>[0]));
  }

  private async series(table: SeriesTable, project: string, q: SeriesQuery): Promise<Record<string, unknown>[]> {
    let b = this.db.selectFrom(table).selectAll().where('project', '=', project);
    if (q.endpointId !== undefined) b = b.where('endpoint_id', '=', q.endpointId);
    if (q.app !== undefined) b = b.where('app', '=', q.app);
    if (q.name !== undefined) b = b.where('name', '=', q.name);
    if (q.start !== undefined) b = b.where('window_start', '>=', q.start);
    if (q.end !== undefined) b = b.where('window_start', '<', q.end);
    const dir = q.limit === undefined ? 'asc' : 'desc';
    b = b.orderBy('window_start', dir).orderBy('endpoint_id', dir).orderBy('app', dir).orderBy('name', dir);
    if (q.limit !== undefined) b = b.limit(q.limit);
    const rs: Record<string, unknown>[] = await b.execute();
    return q.limit === undefined ? rs : rs.reverse();
  }

  async latestResults(project: string, q: { endpointId?: string; app?: string } = {}): Promise<ResultRow[]> {
    let latest = this.db
      .selectFrom('app_results')
      .select((eb) => ['endpoint_id', 'app', 'name', eb.fn.max('window_start').as('latest_start')])
      .where('project', '=', project)
      .groupBy(['endpoint_id', 'app', 'name']);
    if (q.endpointId !== undefined) latest = latest.where('endpoint_id', '=', q.endpointId);
    if (q.app !== undefined) latest = latest.where('app', '=', q.app);
    const rs = await this.db
      .selectFrom('app_results as r')
      .innerJoin(latest.as('m'), (j) =>
        j
          .onRef('r.endpoint_id', '=', 'm.endpoint_id')
          .onRef('r.app', '=', 'm.app')
          .onRef('r.name', '=', 'm.name')
          .onRef('r.window_start', '=', 'm.latest_start'),
      )
      .selectAll('r')
      .where('r.project', '=', project)
      .orderBy('r.endpoint_id')
      .orderBy('r.app')
      .orderBy('r.name')
      .execute();
    return rs.map(rows.rowToResult);
  }

  /** True when the window has any stored result or metric of the app (apps may return metrics only). */
  async hasResults(project: string, endpointId: string, app: string, windowStart: number): Promise<boolean> {
    for (const table of ['app_results', 'metrics'] as const) {
      const r = await this.db
        .selectFrom(table)
        .select('name')
        .where('project', '=', project)
        .where('endpoint_id', '=', endpointId)
        .where('app', '=', app)
        .where('window_start', '=', windowStart)
        .limit(1)
        .executeTakeFirst();
      if (r) return true;
    }
    return false;
  }

  /** Deletes the app's results and metrics of every window starting in `[window.start, window.end)`. */
  async deleteResults(project: string, endpointId: string, app: string, window: Window): Promise<void> {
    await writeTx(this.db, this.traits, async (tx) => {
      for (const table of ['app_results', 'metrics'] as const) {
        await tx
          .deleteFrom(table)
          .where('project', '=', project)
          .where('endpoint_id', '=', endpointId)
          .where('app', '=', app)
          .where('window_start', '>=', window.start)
          .where('window_start', '<', window.end)
          .execute();
      }
    });
  }
}
