import type { Insertable, Kysely } from 'kysely';
import { checkpointDone } from './checkpoint.ts';
import { chunkRows, insertIgnore, upsert, type DialectTraits } from './dialect.ts';
import { PredictionColumns } from './prediction-columns.ts';
import { addRollups, rollupsOf, rollupsOfColumns } from './rollups.ts';
import type { Database } from './schema.ts';
import type { IngestBatch, WindowHistogram } from './tsdb-port.ts';
import * as rows from './tsdb-rows.ts';

/**
 * Writes one stream-processor batch inside the caller's transaction `tx`, together with the
 * consumer's checkpoint, the one guard of exactly-once (predictions have no key of their own:
 * requests may share an id). `checkpoint.offset` must be the batch's highest offset: when the stored
 * checkpoint is at or past it the batch was written before and nothing happens; when
 * `checkpoint.after` is given and the stored one is another, the batch overlaps what was written
 * since it was read and fails (see `IngestCheckpoint`), so that its events are read again and
 * nothing is stored twice.
 */
export async function writeIngestBatchTx(tx: Kysely<Database>, traits: DialectTraits, batch: IngestBatch): Promise<void> {
  const cp = batch.checkpoint;
  if (cp) {
    // Make the checkpoint row exist before locking it: a lock on a missing row locks nothing (under
    // READ COMMITTED), so two deliveries of a partition's first batch would both go ahead. The
    // placeholder offset '' sorts before every offset and is replaced below in this transaction.
    if (traits.flavor !== 'sqlite') {
      await insertIgnore(tx, traits, 'ingest_checkpoints', [{ consumer: cp.consumer, stream_partition: cp.partition, stream_offset: '' }]);
    }
    let q = tx
      .selectFrom('ingest_checkpoints')
      .select('stream_offset')
      .where('consumer', '=', cp.consumer)
      .where('stream_partition', '=', cp.partition);
    if (traits.flavor !== 'sqlite') q = q.forUpdate();
    const done = await q.executeTakeFirst();
    if (checkpointDone(cp, done?.stream_offset)) return;
  }
  const p = batch.predictions;
  // PostgreSQL copies columns as they are (see `copyPieces`) and MySQL writes its statements from
  // them (see `valuesStatements`); SQLite inserts rows.
  const predictions = p instanceof PredictionColumns ? (traits.flavor === 'sqlite' ? p.toInsertRows() : p) : p.map(rows.predictionToRow);
  await insertPredictions(tx, traits, predictions);
  await addRollups(tx, traits, predictions instanceof PredictionColumns ? rollupsOfColumns(predictions) : rollupsOf(predictions));
  for (const part of chunkRows(batch.errors.map(rows.errorToRow), traits)) await tx.insertInto('errors').values(part).execute();
  for (const part of chunkRows((batch.deadLetters ?? []).map(rows.deadLetterToRow), traits)) await tx.insertInto('dead_letters').values(part).execute();
  await addHistograms(tx, traits, batch.histograms);
  if (cp) {
    const row = { consumer: cp.consumer, stream_partition: cp.partition, stream_offset: cp.offset };
    await upsert(tx, traits, 'ingest_checkpoints', [row], ['consumer', 'stream_partition']);
  }
}

/**
 * Inserts predictions: PostgreSQL with COPY (see `insertPredictionsPostgres`), MySQL one multi-row
 * INSERT per statement-size chunk (see `insertPredictionsMysql`), SQLite multi-row INSERTs chunked
 * under its parameter limit. Returns the number of rows inserted.
 */
export async function insertPredictions(
  tx: Kysely<Database>,
  traits: DialectTraits,
  predictions: readonly Insertable<Database['predictions']>[] | PredictionColumns,
): Promise<number> {
  if (predictions.length === 0) return 0;
  if (traits.flavor === 'postgres') {
    const { insertPredictionsPostgres } = await import('./postgres/insert-predictions.ts');
    return insertPredictionsPostgres(tx, predictions);
  }
  if (traits.flavor === 'mysql') {
    const { insertPredictionsMysql } = await import('./mysql/insert-predictions.ts');
    return insertPredictionsMysql(tx, predictions);
  }
  if (predictions instanceof PredictionColumns) predictions = predictions.toInsertRows();
  let inserted = 0;
  for (const part of chunkRows(predictions, traits)) inserted += Number((await tx.insertInto('predictions').values(part).executeTakeFirst()).numInsertedOrUpdatedRows ?? 0n);
  return inserted;
}

/**
 * Adds counts to the stored histograms of the batch's keys: reads them, writes the sums. Done in
 * the application rather than in SQL because the counts are a JSON array, which the three engines
 * cannot add up in one common dialect. Safe under concurrency: off SQLite the rows read are locked
 * FOR UPDATE, and a row another transaction creates between our read and our insert fails ours
 * with a duplicate key, so that `writeTx` runs it again and adds to that row instead.
 */
async function addHistograms(tx: Kysely<Database>, traits: DialectTraits, histograms: readonly WindowHistogram[]): Promise<void> {
  const groups = new Map<string, WindowHistogram[]>();
  for (const h of rows.mergeByKey(histograms).values()) {
    const g = JSON.stringify([h.project, h.endpointId, h.windowStart]);
    groups.set(g, [...(groups.get(g) ?? []), h]);
  }
  const inserts: WindowHistogram[] = [];
  const updates: WindowHistogram[] = [];
  for (const group of groups.values()) {
    const head = group[0];
    if (!head) continue;
    const existing = new Map<string, WindowHistogram>();
    const features = group.map((h) => h.feature);
    const size = traits.maxParams - 8;
    for (let i = 0; i < features.length; i += size) {
      let q = tx
        .selectFrom('window_histograms')
        .selectAll()
        .where('project', '=', head.project)
        .where('endpoint_id', '=', head.endpointId)
        .where('window_start', '=', head.windowStart)
        .where('feature', 'in', features.slice(i, i + size));
      if (traits.flavor !== 'sqlite') q = q.forUpdate();
      for (const r of await q.execute()) existing.set(r.feature, rows.rowToHistogram(r));
    }
    for (const h of group) {
      const prev = existing.get(h.feature);
      if (!prev) {
        inserts.push(h);
        continue;
      }
      updates.push(rows.mergeHistograms(prev, h));
    }
  }
  // The rows to update are locked above, so one upsert writes them all in a round trip; new rows
  // go in with a plain INSERT so that a row another transaction created meanwhile is an error
  // (the transaction runs again, see `writeTx`) rather than counts overwritten.
  const keys = ['project', 'endpoint_id', 'window_start', 'feature'] as const;
  await upsert(tx, traits, 'window_histograms', updates.map(rows.histogramToRow), keys);
  for (const part of chunkRows(inserts.map(rows.histogramToRow), traits)) await tx.insertInto('window_histograms').values(part).execute();
}
