import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/*
 * Checkpoints (copying the WAL into the database file, with two fsyncs) are done by whichever
 * connection commits past `wal_autocheckpoint`: for a serving process that tracks requests into
 * the embedded log, that was its event loop, held for tens of milliseconds every 16 MB of events
 * (measured: 48–55 ms stalls, against 7–15 ms without tracking). A process that publishes hands
 * them to a thread of its own instead, with its own connection: a PASSIVE checkpoint every
 * `intervalMs`, which never waits for writers and which writers never wait for.
 *
 * The thread is plain JavaScript (no TypeScript loader runs in workers of the CLI process), given
 * the path of the same better-sqlite3 build as the process uses.
 */
const THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { timeout: workerData.busyTimeoutMs });
db.pragma('busy_timeout = ' + Math.trunc(workerData.busyTimeoutMs));
const checkpoint = () => {
  try {
    const done = db.pragma('wal_checkpoint(PASSIVE)')[0];
    // A PASSIVE checkpoint from this thread copies the WAL but does not get it restarted (measured:
    // it grows on), so once everything is copied a RESTART, with nothing left to copy, does that; it
    // holds the write lock only for an instant and gives up at once if a writer has it.
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
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m !== 'stop') return;
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.close();
});
parentPort.postMessage('ready');
`;

const DRIVER = createRequire(import.meta.url).resolve('better-sqlite3');

/** A thread checkpointing one SQLite file in WAL mode every `intervalMs`. */
export class WalCheckpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  private alive = true;

  /** @param onFailure called once if the thread cannot start or dies; the caller then checkpoints on its own again. */
  constructor(file: string, opts: { intervalMs: number; busyTimeoutMs: number; onFailure: (err: unknown) => void }) {
    this.worker = new Worker(THREAD, { eval: true, workerData: { file, driver: DRIVER, intervalMs: opts.intervalMs, busyTimeoutMs: opts.busyTimeoutMs } });
    this.worker.unref();
    let failed = false;
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      this.alive = false;
      opts.onFailure(err);
    };
    this.worker.on('error', fail);
    this.exited = new Promise((resolve) => {
      this.worker.once('exit', (code) => {
        if (this.alive) fail(new Error(`the WAL checkpoint thread exited (${code})`));
        resolve();
      });
    });
  }

  /** Runs a last checkpoint and ends the thread (ended at once if it has not finished in 2 s). */
  async stop(): Promise<void> {
    if (!this.alive) return this.exited;
    this.alive = false;
    this.worker.postMessage('stop');
    const timer = setTimeout(() => void this.worker.terminate(), 2000);
    await this.exited;
    clearTimeout(timer);
  }
}
