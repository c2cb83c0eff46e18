import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { StreamUnavailableError } from '../errors.ts';
import { APPEND_SQL, appendRows, NEXT_OFFSET_SQL, type AppendRow } from './log-db.ts';

/*
 * A process that publishes to the embedded log writes it from a thread of its own, with its own
 * connection: its event loop only encodes the packs and posts them.
 *
 * - Appends: in a serving process the INSERT transactions were half of what tracking cost the
 *   event loop per request (measured with `npm run bench -- serving --profile`); on the thread they
 *   run on the other core. Appends are done in the order they were posted, each in one IMMEDIATE
 *   transaction that numbers its events, exactly as on the event loop.
 * - Checkpoints (copying the WAL into the database file, with two fsyncs) were done by whichever
 *   connection committed past `wal_autocheckpoint`: the serving event loop, held for tens of
 *   milliseconds every 16 MB of events (measured: 48–55 ms stalls, against 7–15 ms without
 *   tracking). The thread runs a PASSIVE checkpoint every `checkpointIntervalMs` instead.
 *
 * The thread is plain JavaScript (no TypeScript loader runs in workers of the CLI process), given
 * the path of the same better-sqlite3 build as the process uses, the SQL of the log and the source
 * of `appendRows` (the same function appends on the calling thread when there is no writer thread).
 */
const THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const appendRows = ${appendRows.toString()};
const Database = require(workerData.driver);
const db = new Database(workerData.file, { timeout: workerData.busyTimeoutMs });
db.pragma('busy_timeout = ' + Math.trunc(workerData.busyTimeoutMs));
db.pragma('synchronous = NORMAL');
db.pragma('wal_autocheckpoint = ' + (workerData.checkpointIntervalMs > 0 ? 0 : workerData.autocheckpointPages));
const nextOffset = db.prepare(workerData.nextOffsetSql);
const append = db.prepare(workerData.appendSql);
const write = db.transaction((topic, ts, rows) => appendRows(nextOffset, append, topic, ts, rows));
const checkpoint = () => {
  try {
    const done = db.pragma('wal_checkpoint(PASSIVE)')[0];
    // A PASSIVE checkpoint copies the WAL but does not get it restarted while other connections
    // keep appending (measured: it grows on), so once everything is copied a RESTART, with nothing
    // left to copy, does that; it holds the write lock only for an instant and gives up at once if
    // a writer has it.
    if (done && done.busy === 0 && done.log > 0 && done.log === done.checkpointed) {
      db.pragma('busy_timeout = 0');
      try {
        db.pragma('wal_checkpoint(RESTART)');
      } finally {
        db.pragma('busy_timeout = ' + Math.trunc(workerData.busyTimeoutMs));
      }
    }
  } catch {
    // Busy or a passing I/O error: the next round tries again; the log itself is untouched.
  }
};
const timer = workerData.checkpointIntervalMs > 0 ? setInterval(checkpoint, workerData.checkpointIntervalMs) : undefined;
parentPort.on('message', (m) => {
  if (m.type === 'append') {
    try {
      write.immediate(m.topic, m.ts, m.rows);
      parentPort.postMessage({ id: m.id });
    } catch (err) {
      parentPort.postMessage({ id: m.id, error: String(err && err.message), code: err && err.code });
    }
    return;
  }
  if (m.type !== 'stop') return;
  if (timer) {
    clearInterval(timer);
    checkpoint();
  }
  db.close();
  parentPort.close();
});
parentPort.postMessage({ ready: true });
`;

const DRIVER = createRequire(import.meta.url).resolve('better-sqlite3');

/** What a log writer thread needs. */
export interface LogWriterOptions {
  file: string;
  busyTimeoutMs: number;
  /** 0: no checkpoints of its own; its connection checkpoints on commit past `autocheckpointPages`. */
  checkpointIntervalMs: number;
  autocheckpointPages: number;
  /** Called once if the thread cannot start or dies; the caller then writes and checkpoints on its own again. */
  onFailure: (err: unknown) => void;
}

interface Waiting {
  resolve: () => void;
  reject: (err: Error) => void;
}

/** The thread that appends to, and checkpoints, one embedded log file (see the comment above). */
export class LogWriterThread {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;
  private failure: Error | undefined;
  private stopping = false;

  constructor(private readonly opts: LogWriterOptions) {
    const { onFailure: _, ...data } = opts;
    this.worker = new Worker(THREAD, { eval: true, workerData: { ...data, driver: DRIVER, nextOffsetSql: NEXT_OFFSET_SQL, appendSql: APPEND_SQL } });
    // Kept alive only while appends wait for it (see append), so that it never holds a process open.
    this.worker.unref();
    this.worker.on('message', (m: { id?: number; error?: string; code?: string }) => {
      if (m.id === undefined) return;
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.settled(m.id);
      if (m.error === undefined) w.resolve();
      else w.reject(Object.assign(new Error(m.error), m.code ? { code: m.code } : {}));
    });
    this.worker.on('error', (err) => this.fail(err));
    this.exited = new Promise((resolve) => {
      this.worker.once('exit', (code) => {
        if (!this.stopping) this.fail(new Error(`the log writer thread exited (${code})`));
        resolve();
      });
    });
  }

  /** Whether appends can go to the thread. */
  get alive(): boolean {
    return this.failure === undefined && !this.stopping;
  }

  /**
   * Appends the rows in one transaction on the thread, after every append posted before.
   * Rejects with the transaction's error, or with StreamUnavailableError if the thread died first
   * (the append may or may not have been committed then; a retry may write it twice).
   */
  append(topic: string, ts: number, rows: AppendRow[]): Promise<void> {
    if (this.failure) return Promise.reject(this.unavailable());
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      if (this.waiting.size === 0) this.worker.ref();
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'append', id, topic, ts, rows });
    });
  }

  /** Waits for the appends posted so far, runs a last checkpoint and ends the thread (at once if that takes over 2 s). */
  async stop(): Promise<void> {
    if (this.stopping || this.failure) return this.exited;
    this.stopping = true;
    this.worker.ref();
    this.worker.postMessage({ type: 'stop' });
    const timer = setTimeout(() => void this.worker.terminate(), 2000);
    await this.exited;
    clearTimeout(timer);
    this.rejectAll();
  }

  private settled(id: number): void {
    this.waiting.delete(id);
    if (this.waiting.size === 0 && !this.stopping) this.worker.unref();
  }

  private fail(err: unknown): void {
    if (this.failure) return;
    this.failure = err instanceof Error ? err : new Error(String(err));
    this.rejectAll();
    this.opts.onFailure(this.failure);
  }

  private rejectAll(): void {
    const err = this.unavailable();
    for (const [id, w] of [...this.waiting]) {
      this.settled(id);
      w.reject(err);
    }
  }

  private unavailable(): StreamUnavailableError {
    return new StreamUnavailableError(`sqlite://${this.opts.file}`, `its writer thread stopped${this.failure ? `: ${this.failure.message}` : ''}`, this.failure);
  }
}
