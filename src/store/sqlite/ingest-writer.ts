import type BetterSqlite3 from 'better-sqlite3';
import { ThreadClient } from '../../common/worker-thread.ts';
import type { PackedIngestBatch } from './ingest-message.ts';
import type { IngestThreadData } from './ingest-thread.ts';
import { moduleUrl } from '../../common/module-url.ts';

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
    entry: moduleUrl('./ingest-thread.ts', import.meta.url),
    external: ['better-sqlite3'],
    workerData: { file, busyTimeoutMs } satisfies IngestThreadData,
    unavailable: (failure) =>
      new IngestThreadStoppedError(`the SQLite ingest thread of ${file} ${failure ? `failed: ${failure.message}` : 'is not running'}`, failure ? { cause: failure } : undefined),
    onFailure,
    stopTimeoutMs: 10_000,
  });
}

/** Per shared handle (see registry.ts): the ingest threads of this process running on its file, and the handle's own `wal_autocheckpoint` before the first. */
const handedOff = new WeakMap<BetterSqlite3.Database, { threads: number; own: number }>();

/**
 * Leaves the WAL checkpoints of `raw`'s file to a running ingest thread: the handle stops running
 * them on its commits until every thread that asked has given them back. A thread commits nearly
 * every page written, and a small commit on the event loop right after one of its large ones
 * (endpoint counters, results) ran the checkpoint there instead, copying megabytes with an fsync:
 * 7.7 ms per stream-processor batch in the ingest benchmark. Returns the give-back (once only).
 */
export function leaveCheckpointsToThread(raw: BetterSqlite3.Database): () => void {
  let entry = handedOff.get(raw);
  if (!entry) {
    entry = { threads: 0, own: Number(raw.pragma('wal_autocheckpoint', { simple: true })) };
    handedOff.set(raw, entry);
  }
  entry.threads += 1;
  raw.pragma('wal_autocheckpoint = 0');
  const held = entry;
  let given = false;
  return () => {
    if (given) return;
    given = true;
    held.threads -= 1;
    if (held.threads > 0) return;
    handedOff.delete(raw);
    if (raw.open) raw.pragma(`wal_autocheckpoint = ${held.own}`);
  };
}
