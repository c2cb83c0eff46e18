import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { threadScript } from '../../common/thread-script.ts';
import type { PackedIngestBatch } from './ingest-message.ts';
import type { IngestThreadData, IngestThreadReply, IngestThreadRequest } from './ingest-thread.ts';

/*
 * The stream processor's writes to a SQLite tsdb file run on a thread of their own, with their own
 * connection (ingest-thread.ts):
 *
 * - A batch of ten thousand predictions is one transaction of some 100 ms. On the event loop it
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

const DRIVER = createRequire(import.meta.url).resolve('better-sqlite3');

/** The thread stopped or died before answering: the write may or may not be committed. */
export class IngestThreadStoppedError extends Error {
  override readonly name = 'IngestThreadStoppedError';
}

interface Waiting {
  resolve: () => void;
  reject: (err: Error) => void;
}

/** The writer thread of one SQLite tsdb file (see above). */
export class IngestWriterThread {
  private worker: Worker | undefined;
  private starts = false;
  private readyNow = false;
  private failure: Error | undefined;
  private stopping = false;
  private exited: Promise<void> = Promise.resolve();
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;
  private settleStart: (running: boolean) => void = () => undefined;
  /** Settles once the thread runs (true), or cannot (false: failed or stopped first). */
  readonly started: Promise<boolean> = new Promise((resolve) => (this.settleStart = resolve));

  constructor(
    private readonly file: string,
    private readonly busyTimeoutMs: number,
    /** Called once when the thread cannot start or dies. */
    private readonly onFailure: (err: Error) => void = () => undefined,
  ) {}

  /** Whether writes go to the thread now: it has been started and is running. */
  get ready(): boolean {
    return this.readyNow && this.failure === undefined && !this.stopping;
  }

  /** It could not start, or died: writes stay on the calling thread. */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Started and not yet running (nor failed, nor stopped). */
  get starting(): boolean {
    return this.starts && !this.readyNow && this.failure === undefined && !this.stopping;
  }

  /**
   * Writes the batch on the thread, after every batch posted before it.
   * @throws the SQLite error of the write (with its `code`), or {@link IngestThreadStoppedError}
   */
  write(batch: PackedIngestBatch): Promise<void> {
    const worker = this.worker;
    if (!worker || !this.ready) return Promise.reject(this.stoppedError());
    const request: IngestThreadRequest = { type: 'write', id: this.nextId++, batch };
    return new Promise<void>((resolve, reject) => {
      if (this.waiting.size === 0) worker.ref();
      this.waiting.set(request.id, { resolve, reject });
      worker.postMessage(request);
    });
  }

  /** Waits for the writes posted so far and ends the thread (at once if that takes over 10 s). */
  async stop(): Promise<void> {
    if (this.stopping) return this.exited;
    this.stopping = true;
    this.settleStart(false);
    const worker = this.worker;
    if (!worker || this.failure) return this.exited;
    worker.ref();
    worker.postMessage({ type: 'stop' } satisfies IngestThreadRequest);
    const timer = setTimeout(() => void worker.terminate(), 10_000);
    await this.exited;
    clearTimeout(timer);
    this.rejectAll();
  }

  /** Starts the thread in the background, once (until it runs, {@link ready} is false). */
  start(): void {
    if (this.starts || this.stopping) return;
    this.starts = true;
    threadScript(new URL('./ingest-thread.ts', import.meta.url), ['better-sqlite3']).then(
      (script) => {
        if (this.stopping) return;
        const workerData: IngestThreadData = { driver: DRIVER, file: this.file, busyTimeoutMs: this.busyTimeoutMs };
        const worker = new Worker(script, { eval: true, workerData, });
        this.worker = worker;
        // Kept alive only while writes wait for it, so that it never holds a process open.
        worker.unref();
        worker.on('message', (m: IngestThreadReply) => this.reply(m));
        worker.on('error', (err) => this.fail(err));
        this.exited = new Promise((resolve) => {
          worker.once('exit', (code) => {
            if (!this.stopping) this.fail(new Error(`the SQLite ingest thread exited (${code})`));
            resolve();
          });
        });
      },
      (err: unknown) => this.fail(err),
    );
  }

  private reply(m: IngestThreadReply): void {
    if ('ready' in m) {
      this.readyNow = true;
      this.settleStart(true);
      return;
    }
    const w = this.waiting.get(m.id);
    if (!w) return;
    this.settled(m.id);
    if (m.error === undefined) w.resolve();
    else w.reject(Object.assign(new Error(m.error), m.code ? { code: m.code } : {}));
  }

  private settled(id: number): void {
    this.waiting.delete(id);
    if (this.waiting.size === 0 && !this.stopping) this.worker?.unref();
  }

  private fail(err: unknown): void {
    if (this.failure) return;
    this.failure = err instanceof Error ? err : new Error(String(err));
    this.settleStart(false);
    this.rejectAll();
    this.onFailure(this.failure);
  }

  private rejectAll(): void {
    const err = this.stoppedError();
    for (const [id, w] of [...this.waiting]) {
      this.settled(id);
      w.reject(err);
    }
  }

  private stoppedError(): IngestThreadStoppedError {
    return new IngestThreadStoppedError(
      `the SQLite ingest thread of ${this.file} ${this.failure ? `failed: ${this.failure.message}` : 'is not running'}`,
      this.failure ? { cause: this.failure } : undefined,
    );
  }
}
