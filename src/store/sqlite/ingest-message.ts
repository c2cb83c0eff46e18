import { PredictionColumns, type PackedPredictions } from '../prediction-columns.ts';
import type { DeadLetterRow, ErrorRow, IngestBatch, WindowHistogram } from '../tsdb-port.ts';

/*
 * An ingest batch on its way to the SQLite writer thread (ingest-writer.ts). Posting the batch as it
 * is would have the structured clone copy ten thousand row objects on each side; its predictions
 * travel instead as columns (see prediction-columns.ts), which the stream processor builds them as
 * in the first place. Only what the INSERT stores travels: the parsed features and outputs do not
 * (the thread stores their JSON text).
 */

/** An {@link IngestBatch} as posted to the writer thread. */
export interface PackedIngestBatch {
  predictions: PackedPredictions;
  errors: ErrorRow[];
  histograms: WindowHistogram[];
  deadLetters?: DeadLetterRow[];
  checkpoint?: IngestBatch['checkpoint'];
}

/** The batch as posted: its predictions as columns (those of the batch itself when it has them). */
export function packIngestBatch(batch: IngestBatch): PackedIngestBatch {
  const p = batch.predictions;
  const columns = p instanceof PredictionColumns ? p : PredictionColumns.fromRows(p);
  return { predictions: columns.packed(), errors: batch.errors, histograms: batch.histograms, deadLetters: batch.deadLetters, checkpoint: batch.checkpoint };
}

/**
 * The batch again, its predictions as columns over the posted data.
 * @throws when the columns do not add up (a message that is not a packed batch)
 */
export function unpackIngestBatch(m: PackedIngestBatch): IngestBatch {
  return { predictions: PredictionColumns.fromPacked(m.predictions), errors: m.errors, histograms: m.histograms, deadLetters: m.deadLetters, checkpoint: m.checkpoint };
}
