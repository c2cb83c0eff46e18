/*
 * The SQLite ingest writer thread (see ingest-writer.ts): its own connection to the tsdb file,
 * writing each posted batch with `writeIngestBatchSqlite`, in the order posted. Run as a script
 * bundled by esbuild (common/thread-script.ts); better-sqlite3 comes from the path the process
 * resolved, so that both threads use the same build.
 */
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';
import { unpackIngestBatch, type PackedIngestBatch } from './ingest-message.ts';
import { writeIngestBatchSqlite } from './ingest.ts';

/** What the thread is started with. */
export interface IngestThreadData {
  /** Resolved path of the better-sqlite3 package. */
  driver: string;
  file: string;
  busyTimeoutMs: number;
}

/** Messages to the thread. */
export type IngestThreadRequest = { type: 'write'; id: number; batch: PackedIngestBatch } | { type: 'stop' };
/** Messages from the thread. */
export type IngestThreadReply = { ready: true } | { id: number; error?: string; code?: string };

function main(port: NonNullable<typeof parentPort>, data: IngestThreadData): void {
  const Database = createRequire(data.driver)(data.driver) as typeof BetterSqlite3;
  const db = new Database(data.file, { timeout: data.busyTimeoutMs });
  db.pragma(`busy_timeout = ${Math.trunc(data.busyTimeoutMs)}`);
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = OFF');
  port.on('message', (m: IngestThreadRequest) => {
    if (m.type === 'stop') {
      db.close();
      port.close();
      return;
    }
    let reply: IngestThreadReply;
    try {
      writeIngestBatchSqlite(db, unpackIngestBatch(m.batch));
      reply = { id: m.id };
    } catch (err) {
      const e = err as { message?: unknown; code?: unknown };
      reply = { id: m.id, error: String(e?.message ?? err), ...(typeof e?.code === 'string' ? { code: e.code } : {}) };
    }
    port.postMessage(reply);
  });
  port.postMessage({ ready: true } satisfies IngestThreadReply);
}

if (parentPort) main(parentPort, workerData as IngestThreadData);
