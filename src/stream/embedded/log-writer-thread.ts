/*
 * The embedded log's writer thread (see log-writer.ts): its own connection to the log file; appends
 * each posted publish (its packs) in one IMMEDIATE transaction, in the order posted, and runs the
 * WAL checkpoints. A thread's entry module (see common/thread-script.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { serveRequests } from '../../common/thread-serve.ts';
import { APPEND_SQL, appendRows, NEXT_OFFSET_SQL, type AppendRow } from './log-db.ts';
import type { EventBatch } from '../../tracking/event-batch.ts';
import { packEventBatch } from './log-rows.ts';

/** What the thread is started with. */
export interface LogWriterThreadData {
  file: string;
  busyTimeoutMs: number;
  /** 0: no checkpoints of its own; its connection checkpoints on commit past `autocheckpointPages`. */
  checkpointIntervalMs: number;
  autocheckpointPages: number;
}

/**
 * A publish for the thread to append: its packs (see log-rows.ts), or tracked events as numbers
 * that the thread encodes and packs for a log of `partitions` (see tracking/event-batch.ts).
 */
export type LogAppend = { topic: string; ts: number } & ({ rows: AppendRow[] } | { events: EventBatch; partitions: number });

function main(port: NonNullable<typeof parentPort>, data: LogWriterThreadData): void {
  const db = new Database(data.file, { timeout: data.busyTimeoutMs });
  db.pragma(`busy_timeout = ${Math.trunc(data.busyTimeoutMs)}`);
  db.pragma('synchronous = NORMAL');
  db.pragma(`wal_autocheckpoint = ${data.checkpointIntervalMs > 0 ? 0 : data.autocheckpointPages}`);
  const nextOffset = db.prepare(NEXT_OFFSET_SQL);
  const append = db.prepare(APPEND_SQL);
  const write = db.transaction((topic: string, ts: number, rows: AppendRow[]) => appendRows(nextOffset, append, topic, ts, rows));
  const checkpoint = (): void => {
    try {
      const done = (db.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[])[0];
      // A PASSIVE checkpoint copies the WAL but does not get it restarted while other connections
      // keep appending (measured: it grows on), so once everything is copied a RESTART, with nothing
      // left to copy, does that; it holds the write lock only for an instant and gives up at once if
      // a writer has it.
      if (done && done.busy === 0 && done.log > 0 && done.log === done.checkpointed) {
        db.pragma('busy_timeout = 0');
        try {
          db.pragma('wal_checkpoint(RESTART)');
        } finally {
          db.pragma(`busy_timeout = ${Math.trunc(data.busyTimeoutMs)}`);
        }
      }
    } catch {
      // Busy or a passing I/O error: the next round tries again; the log itself is untouched.
    }
  };
  const timer = data.checkpointIntervalMs > 0 ? setInterval(checkpoint, data.checkpointIntervalMs) : undefined;
  serveRequests<LogAppend>(
    port,
    (m) => {
      if ('rows' in m) return write.immediate(m.topic, m.ts, m.rows);
      // Packed before the write lock is taken, as the publishing thread does.
      const rows = packEventBatch(m.events, m.partitions);
      return write.immediate(m.topic, m.ts, rows);
    },
    () => {
      if (timer) {
        clearInterval(timer);
        checkpoint();
      }
      db.close();
    },
  );
}

if (parentPort) main(parentPort, workerData as LogWriterThreadData);
