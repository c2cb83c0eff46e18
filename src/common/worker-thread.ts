import { Worker, type ResourceLimits, type TransferListItem } from 'node:worker_threads';
import type { ThreadReply, ThreadRequest } from './thread-serve.ts';
import { threadScript } from './thread-script.ts';

/*
 * A thread that takes requests one after the other and answers each (the SQLite writer threads of
 * the embedded log and of the tsdb): the calling side. The thread's side is thread-serve.ts, apart
 * so that a thread's script does not bundle esbuild.
 */

/** What a {@link ThreadClient} runs and how it reports. */
export interface ThreadClientOptions {
  /** The thread's entry module (from `moduleUrl`, see thread-script.ts), and the packages its bundle loads as they are. */
  entry: URL;
  external?: string[];
  workerData: unknown;
  /** The error requests get once the thread cannot answer them (`failure`: why, when it failed). */
  unavailable: (failure: Error | undefined) => Error;
  /** Called once if the thread cannot start or dies. */
  onFailure?: (err: Error) => void;
  /** How long `stop()` waits for the requests posted before ending the thread anyway. */
  stopTimeoutMs: number;
  /** The thread's V8 heap limits; by default {@link THREAD_RESOURCE_LIMITS}. */
  resourceLimits?: ResourceLimits;
}

/**
 * A request thread's heap: a young generation of 8 MB instead of V8's default, which grows to
 * 32 MB or more under a steady stream of requests. The threads hand their work to SQLite and keep
 * little across requests, so collecting their young generation four times as often costs nothing
 * measurable (tracking into the embedded log: 3.1–3.3 µs per event either way), while the stream
 * processor's peak RSS fell by 10–20 MB with its tsdb's ingest thread so limited (memory
 * benchmark, 1M events: 234–262 against 259–266 MB).
 */
export const THREAD_RESOURCE_LIMITS: ResourceLimits = { maxYoungGenerationSizeMb: 8 };

interface Waiting<R> {
  resolve: (result: R) => void;
  reject: (err: Error) => void;
}

/**
 * The calling side of a request thread, whose requests (`B`) answer `R` (what the thread's handler
 * returned; nothing for a writer thread). Started in the background (from the sources, its script
 * is bundled first); until it runs, and after it has failed or stopped, {@link ready} is false and
 * the caller does the work itself. The thread is kept referenced only while it starts and while
 * requests wait for it, so that it never holds a process open (a process that ends at once waits
 * for its start-up, 100–200 ms with the bundling), and a process that ends right after awaiting a
 * request stays alive until it is answered.
 */
export class ThreadClient<B, R = void> {
  private worker: Worker | undefined;
  private starts = false;
  private running = false;
  private failure: Error | undefined;
  private stopping = false;
  private exited: Promise<void> = Promise.resolve();
  private readonly waiting = new Map<number, Waiting<R>>();
  private nextId = 1;
  private settleStart: (running: boolean) => void = () => undefined;
  /** Settles once the thread runs (true), or cannot (false: failed or stopped first). */
  readonly started: Promise<boolean> = new Promise((resolve) => (this.settleStart = resolve));

  constructor(private readonly opts: ThreadClientOptions) {}

  /** Whether requests go to the thread now. */
  get ready(): boolean {
    return this.running && this.failure === undefined && !this.stopping;
  }

  /** It could not start, or died. */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Starts the thread in the background, once. */
  start(): void {
    if (this.starts || this.stopping) return;
    this.starts = true;
    threadScript(this.opts.entry, this.opts.external).then(
      (script) => {
        if (this.stopping) return;
        const worker = new Worker(script.filename, { eval: script.eval, workerData: this.opts.workerData, resourceLimits: this.opts.resourceLimits ?? THREAD_RESOURCE_LIMITS });
        this.worker = worker;
        worker.on('message', (m: ThreadReply) => this.reply(m));
        worker.on('error', (err) => this.fail(err));
        this.exited = new Promise((resolve) => {
          worker.once('exit', (code) => {
            if (!this.stopping) this.fail(new Error(`the thread exited (${code})`));
            resolve();
          });
        });
        // Referenced while it starts (until it says it runs, see reply); unref() must come after
        // the listeners anyway, as adding a 'message' listener refs the worker's port again.
      },
      (err: unknown) => this.fail(err),
    );
  }

  /**
   * Has the thread handle `body`, after every request posted before it, and answers what its
   * handler returned; what `transfer` lists is moved to the thread (detached here), not copied.
   * @throws the handler's error (its message and `code`), or `unavailable()` when the thread is not
   *   running or ends first (the request may or may not have been carried out then)
   */
  request(body: B, transfer?: readonly TransferListItem[]): Promise<R> {
    const worker = this.worker;
    if (!worker || !this.ready) return Promise.reject(this.opts.unavailable(this.failure));
    const message: ThreadRequest<B> = { type: 'request', id: this.nextId++, body };
    return new Promise<R>((resolve, reject) => {
      if (this.waiting.size === 0) worker.ref();
      this.waiting.set(message.id, { resolve, reject });
      worker.postMessage(message, transfer as TransferListItem[] | undefined);
    });
  }

  /** Waits for the requests posted so far and ends the thread (at once after `stopTimeoutMs`). */
  async stop(): Promise<void> {
    if (this.stopping) return this.exited;
    this.stopping = true;
    this.settleStart(false);
    const worker = this.worker;
    if (!worker || this.failure) return this.exited;
    worker.ref();
    worker.postMessage({ type: 'stop' } satisfies ThreadRequest<B>);
    const timer = setTimeout(() => void worker.terminate(), this.opts.stopTimeoutMs);
    await this.exited;
    clearTimeout(timer);
    this.rejectAll();
  }

  /** Ends the thread at once, as a crash would (tests). */
  async kill(): Promise<void> {
    await this.worker?.terminate();
  }

  private reply(m: ThreadReply): void {
    if ('ready' in m) {
      this.running = true;
      if (this.waiting.size === 0 && !this.stopping) this.worker?.unref();
      this.settleStart(true);
      return;
    }
    const w = this.waiting.get(m.id);
    if (!w) return;
    this.settled(m.id);
    if (m.error === undefined) w.resolve(m.result as R);
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
    this.opts.onFailure?.(this.failure);
  }

  private rejectAll(): void {
    const err = this.opts.unavailable(this.failure);
    for (const [id, w] of [...this.waiting]) {
      this.settled(id);
      w.reject(err);
    }
  }
}
