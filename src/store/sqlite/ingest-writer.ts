import { ThreadClient } from '../../common/worker-thread.ts';
import type { PackedIngestBatch } from './ingest-message.ts';
import type { IngestThreadData } from './ingest-thread.ts';

/*
 * The stream processor's writes to a SQLite tsdb file run on a thread of their own, with their own
 * connection (ingest-thread.ts):
 *
 * - A batch of thousands of predictions is one transaction of some 100 ms. On the event loop it
 *   held up everything else in the process for that long (serving, in an embedded SDK process),
 *   and the stream processor could not parse the next batch meanwhile. On the thread the two run on
 *   two cores, as they do with a PostgreSQL or MySQL tsdb.
 * - The WAL checkpoints that commits past `wal_autocheckpoint` run happen on the thread too.
 *
 * Until the thread is running (its script is bundled once per process, see thread-script.ts) and
 * after it has failed, the tsdb writes on the calling thread as before. A write the thread was
 * given when it died may or may not be committed: it is written again on the calling thread, and
 * the batch's checkpoint makes that a no-op if it was (see `writeIngestBatchSqlite`).
 */

/** The thread stopped or died before answering: the write may or may not be committed. */
export class IngestThreadStoppedError extends Error {
  override readonly name = 'IngestThreadStoppedError';
}

/** The writer thread of one SQLite tsdb file (see above): requests are packed batches. */
export function ingestWriterThread(file: string, busyTimeoutMs: number, onFailure?: (err: Error) => void): ThreadClient<PackedIngestBatch> {
  return new ThreadClient<PackedIngestBatch>({
    entry: new URL('./ingest-thread.ts', import.meta.url),
    external: ['better-sqlite3'],
    workerData: { file, busyTimeoutMs } satisfies IngestThreadData,
    unavailable: (failure) =>
      new IngestThreadStoppedError(`the SQLite ingest thread of ${file} ${failure ? `failed: ${failure.message}` : 'is not running'}`, failure ? { cause: failure } : undefined),
    onFailure,
    stopTimeoutMs: 10_000,
  });
}
