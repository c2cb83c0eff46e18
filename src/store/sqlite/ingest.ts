import type BetterSqlite3 from 'better-sqlite3';
import { finiteOrNull, toJson } from '../codec.ts';
import { checkpointDone } from '../checkpoint.ts';
import { PredictionColumns } from '../prediction-columns.ts';
import type { IngestBatch, WindowHistogram } from '../tsdb-port.ts';
import { RollupAccumulator } from '../rollups.ts';
import { deadLetterToRow, errorToRow, mergeByKey, mergeHistograms, rowToHistogram, saturated } from '../tsdb-rows.ts';

/*
 * The SQLite ingest path: the statements of `writeIngestBatchTx` prepared once per database handle
 * and run row by row inside one transaction. better-sqlite3 runs a prepared statement in a few
 * microseconds, while building, compiling and preparing a Kysely multi-row INSERT of thousands of
 * placeholders per batch cost several times the insert itself.
 */

interface Statements {
  /** The whole batch as one `BEGIN IMMEDIATE` transaction. */
  write: BetterSqlite3.Transaction<(batch: IngestBatch) => void>;
  checkpoint: BetterSqlite3.Statement<[string, number], { stream_offset: string }>;
  saveCheckpoint: BetterSqlite3.Statement<[string, number, string]>;
  prediction: BetterSqlite3.Statement<unknown[]>;
  error: BetterSqlite3.Statement<unknown[]>;
  deadLetter: BetterSqlite3.Statement<unknown[]>;
  /** Every stored feature histogram of one endpoint's window. */
  window: BetterSqlite3.Statement<[string, string, number], Parameters<typeof rowToHistogram>[0]>;
  saveHistogram: BetterSqlite3.Statement<unknown[]>;
  addRollup: BetterSqlite3.Statement<unknown[]>;
}

const cache = new WeakMap<BetterSqlite3.Database, Statements>();

function statements(db: BetterSqlite3.Database): Statements {
  let s = cache.get(db);
  if (!s) {
    const prepared: Statements = {
      write: db.transaction((batch: IngestBatch) => writeBatch(prepared, batch)),
      checkpoint: db.prepare('SELECT stream_offset FROM ingest_checkpoints WHERE consumer = ? AND stream_partition = ?'),
      saveCheckpoint: db.prepare(
        `INSERT INTO ingest_checkpoints (consumer, stream_partition, stream_offset) VALUES (?, ?, ?)
         ON CONFLICT (consumer, stream_partition) DO UPDATE SET stream_offset = excluded.stream_offset`,
      ),
      prediction: db.prepare(
        `INSERT INTO predictions (project, endpoint_id, time, latency_us, request_id, row_index, features, outputs, labels)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      error: db.prepare('INSERT INTO errors (project, endpoint_id, time, request_id, error) VALUES (?, ?, ?, ?, ?)'),
      deadLetter: db.prepare(
        `INSERT INTO dead_letters (project, endpoint_id, request_id, stream_partition, stream_offset, time, reason, event, event_chars)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      window: db.prepare('SELECT * FROM window_histograms WHERE project = ? AND endpoint_id = ? AND window_start = ?'),
      saveHistogram: db.prepare(
        `INSERT INTO window_histograms (project, endpoint_id, window_start, window_end, feature, counts, at_max, categories, category_other, count, missing, sum, sum_sq, min, max)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (project, endpoint_id, window_start, feature) DO UPDATE SET
           window_end = excluded.window_end, counts = excluded.counts, at_max = excluded.at_max, categories = excluded.categories,
           category_other = excluded.category_other, count = excluded.count, missing = excluded.missing,
           sum = excluded.sum, sum_sq = excluded.sum_sq, min = excluded.min, max = excluded.max`,
      ),
      addRollup: db.prepare(
        `INSERT INTO prediction_rollups (project, endpoint_id, bucket_start, predictions, latency_us_sum) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (project, endpoint_id, bucket_start) DO UPDATE SET
           predictions = predictions + excluded.predictions, latency_us_sum = latency_us_sum + excluded.latency_us_sum`,
      ),
    };
    s = prepared;
    cache.set(db, s);
  }
  return s;
}

/**
 * Writes one stream-processor batch with its checkpoint in one `BEGIN IMMEDIATE` transaction, as
 * `writeIngestBatchTx` does (same rows, same skipping of a batch at or below the stored checkpoint).
 * Synchronous, so nothing else runs on the handle meanwhile; the caller must hold the handle (no
 * transaction of its own open on it).
 * @throws the SQLite error (the transaction is rolled back), SQLITE_BUSY when another process held the lock past the busy timeout.
 */
export function writeIngestBatchSqlite(db: BetterSqlite3.Database, batch: IngestBatch): void {
  if (db.inTransaction) throw new Error('writeIngestBatchSqlite needs the handle outside any transaction');
  statements(db).write.immediate(batch);
}

function writeBatch(s: Statements, batch: IngestBatch): void {
  const cp = batch.checkpoint;
  if (cp && checkpointDone(cp, s.checkpoint.get(cp.consumer, cp.partition)?.stream_offset)) return;
  const rollups = new RollupAccumulator();
  const p = batch.predictions;
  (p instanceof PredictionColumns ? p : PredictionColumns.fromRows(p)).forEach((r) => {
    s.prediction.run(r.project, r.endpointId, r.time, r.latencyUs, r.requestId, r.rowIndex, r.featuresJson, r.outputsJson, r.labelsJson);
    rollups.add(r.project, r.endpointId, r.time, r.latencyUs);
  });
  for (const r of rollups.rows()) s.addRollup.run(r.project, r.endpoint_id, r.bucket_start, r.predictions, r.latency_us_sum);
  for (const e of batch.errors) {
    const r = errorToRow(e);
    s.error.run(r.project, r.endpoint_id, r.time, r.request_id, r.error);
  }
  for (const d of batch.deadLetters ?? []) {
    const r = deadLetterToRow(d);
    s.deadLetter.run(r.project, r.endpoint_id, r.request_id, r.stream_partition, r.stream_offset, r.time, r.reason, r.event, r.event_chars);
  }
  addHistograms(s, batch.histograms);
  if (cp) s.saveCheckpoint.run(cp.consumer, cp.partition, cp.offset);
}

/**
 * Adds the batch's histograms to the stored ones of their keys, reading each endpoint window's
 * stored rows in one query (the write lock is held, so read-then-write is safe).
 */
function addHistograms(s: Statements, histograms: readonly WindowHistogram[]): void {
  let stored = new Map<string, WindowHistogram>();
  let window: WindowHistogram | undefined;
  for (const h of mergeByKey(histograms).values()) {
    if (!window || h.project !== window.project || h.endpointId !== window.endpointId || h.windowStart !== window.windowStart) {
      window = h;
      stored = new Map(s.window.all(h.project, h.endpointId, h.windowStart).map((r) => [r.feature, rowToHistogram(r)]));
    }
    const prev = stored.get(h.feature);
    saveHistogram(s, prev ? mergeHistograms(prev, h) : h);
  }
}

function saveHistogram(s: Statements, m: WindowHistogram): void {
  s.saveHistogram.run(
    m.project,
    m.endpointId,
    m.windowStart,
    m.windowEnd,
    m.feature,
    toJson(m.counts),
    m.atMax,
    m.categories === null ? null : toJson(m.categories),
    m.categoryOther,
    m.count,
    m.missing,
    saturated(m.sum),
    saturated(m.sumSq),
    finiteOrNull(m.min),
    finiteOrNull(m.max),
  );
}
