/*
 * The SQLite ingest writer thread (see ingest-writer.ts): its own connection to the tsdb file,
 * writing each posted batch with `writeIngestBatchSqlite`, in the order posted. A thread's entry
 * module (see common/thread-script.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { serveRequests } from '../../common/thread-serve.ts';
import { unpackIngestBatch, type PackedIngestBatch } from './ingest-message.ts';
import { writeIngestBatchSqlite } from './ingest.ts';

/** What the thread is started with. */
export interface IngestThreadData {
  file: string;
  busyTimeoutMs: number;
}

if (parentPort) {
  const data = workerData as IngestThreadData;
  const db = new Database(data.file, { timeout: data.busyTimeoutMs });
  db.pragma(`busy_timeout = ${Math.trunc(data.busyTimeoutMs)}`);
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = OFF');
  serveRequests<PackedIngestBatch>(
    parentPort,
    (batch) => writeIngestBatchSqlite(db, unpackIngestBatch(batch)),
    () => db.close(),
  );
}
