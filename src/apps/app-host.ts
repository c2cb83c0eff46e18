import { Worker } from 'node:worker_threads';
import { ApplicationError, ValidationError, errorMessage, type ModelwatchError } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import { moduleUrl } from '../common/module-url.ts';
import { threadScript } from '../common/thread-script.ts';
import { appReason, failure, normalized, type AppThreadInit, type FromAppThread, type RunOutcome, type ToAppThread } from './app-run.ts';
import type { MonitoringApplication } from './base.ts';
import { contextFromData, contextLog, type ContextData } from './context-builder.ts';
import type { RunLimits } from './run-limits.ts';
import type { TrainingSets } from './training-sets.ts';

/*
 * Where a monitoring application's runs happen. An app named by module file or built-in name runs
 * in a worker thread of its own, reused from window to window: each run has a deadline (the thread
 * is terminated when it passes, which stops even a synchronous endless loop) and the thread's heap
 * is capped (V8 ends the thread when it would grow past the limit). A terminated thread is started
 * again for the next window. An app handed over as a class or instance (embedded mode) cannot be
 * moved to a thread: it runs on the calling thread, where a deadline stops waiting for an
 * asynchronous run but cannot interrupt a synchronous one, and no memory limit applies.
 */

/** Runs an application on windows, one at a time. */
export interface AppHost {
  /** Whether the app reads `ctx.sample` (see `MonitoringApplication.usesSample`). */
  readonly usesSample: boolean;
  /** `thread`: deadline and memory limit enforced; `in-process`: a deadline on asynchronous runs only. */
  readonly isolation: 'thread' | 'in-process';
  /** Runs the app on a window; never throws. */
  run(data: ContextData, trainingSets: TrainingSets): Promise<RunOutcome>;
  /** Stops the app at once (its thread ends): a run in flight and the ones waiting end as `stopped`. */
  close(): Promise<void>;
}

// ---- the app's own thread -------------------------------------------------------------------

/** Options of {@link startAppThread}. */
export interface AppThreadOptions extends Omit<AppThreadInit, 'memoryLimitMb'> {
  limits: RunLimits;
  logger: Logger;
  /** How long loading the app (importing its module, building it) may take. @default 60 s, or timeoutSeconds when longer */
  loadTimeoutSeconds?: number;
}

const ENTRY = moduleUrl('./app-thread.ts', import.meta.url);

/**
 * Starts an app in a thread of its own and waits until it has loaded.
 * @throws the app's load error (ValidationError, ApplicationError), or a timeout when loading
 *   takes longer than its timeoutSeconds
 */
export async function startAppThread(opts: AppThreadOptions): Promise<AppHost> {
  const host = new ThreadHost(opts);
  await host.start();
  return host;
}

interface Pending {
  id: number;
  /** Where its training sets come from (see answerReference). */
  trainingSets: TrainingSets;
  resolve: (o: RunOutcome) => void;
}

/** One started thread; replaced by a new one once it has ended. */
class AppThread {
  readonly worker: Worker;
  ended = false;
  /** Set once the thread has said whether it loaded. */
  loaded: Promise<{ usesSample: boolean }>;
  private pending: Pending | undefined;
  private timer: NodeJS.Timeout | undefined;
  private nextId = 1;
  private onLoaded: { resolve: (v: { usesSample: boolean }) => void; reject: (e: Error) => void } = { resolve: () => undefined, reject: () => undefined };

  constructor(
    script: { filename: string | URL; eval: boolean },
    private readonly opts: AppThreadOptions,
    private readonly log: Logger,
  ) {
    const init: AppThreadInit = { appName: opts.appName, source: opts.source, options: opts.options, artifactPath: opts.artifactPath, memoryLimitMb: opts.limits.memoryLimitMb };
    this.loaded = new Promise((resolve, reject) => (this.onLoaded = { resolve, reject }));
    this.worker = new Worker(script.filename, { eval: script.eval, workerData: init, resourceLimits: { maxOldGenerationSizeMb: opts.limits.memoryLimitMb } });
    this.worker.on('message', (m: FromAppThread) => this.message(m));
    this.worker.on('error', (err: Error & { code?: string }) => {
      const reason = err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? failure.memory(opts.limits.memoryLimitMb) : failure.threw(errorMessage(err));
      this.end(reason);
    });
    this.worker.on('exit', (code) => this.end(failure.exited(code)));
    // Importing a module (TypeScript through tsx) can take longer than a run on a busy machine.
    const loadSeconds = opts.loadTimeoutSeconds ?? Math.max(60, opts.limits.timeoutSeconds);
    this.arm(loadSeconds, () => this.onLoaded.reject(new ApplicationError(opts.appName, `did not load within ${loadSeconds} s`)));
  }

  /** Runs one window; the caller runs one at a time. */
  run(data: ContextData, trainingSets: TrainingSets): Promise<RunOutcome> {
    if (this.ended) return Promise.resolve({ ok: false, error: failure.exited(-1) });
    return new Promise((resolve) => {
      const id = this.nextId++;
      this.pending = { id, trainingSets, resolve };
      this.worker.ref();
      this.arm(this.opts.limits.timeoutSeconds, () => this.settle({ ok: false, error: failure.timedOut(this.opts.limits.timeoutSeconds) }));
      try {
        this.worker.postMessage({ type: 'run', id, data } satisfies ToAppThread);
      } catch (err) {
        this.settle({ ok: false, error: `the window could not be handed to its thread: ${errorMessage(err)}` });
      }
    });
  }

  async terminate(): Promise<void> {
    this.ended = true;
    await this.worker.terminate();
  }

  /** Ends the thread; a run in flight ends as stopped. */
  async stop(): Promise<void> {
    this.ended = true;
    clearTimeout(this.timer);
    if (this.pending) this.settle({ ok: false, error: failure.stopped, stopped: true });
    await this.worker.terminate();
  }

  /** Terminates the thread after `seconds` unless disarmed first. */
  private arm(seconds: number, onTimeout: () => void): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      onTimeout();
      void this.terminate();
    }, seconds * 1000);
  }

  private settle(outcome: RunOutcome): void {
    const p = this.pending;
    clearTimeout(this.timer);
    this.pending = undefined;
    if (!this.ended) this.worker.unref();
    p?.resolve(outcome);
  }

  /** The thread ended (terminated, out of memory, crashed): a run in flight fails with `reason`. */
  private end(reason: string): void {
    const first = !this.ended;
    this.ended = true;
    clearTimeout(this.timer);
    this.onLoaded.reject(new ApplicationError(this.opts.appName, reason));
    if (this.pending) this.settle({ ok: false, error: reason });
    else if (first) this.log.warn({ reason }, 'the application\'s thread ended between windows; it is started again for the next one');
  }

  private message(m: FromAppThread): void {
    switch (m.type) {
      case 'ready':
        clearTimeout(this.timer);
        this.worker.unref();
        this.onLoaded.resolve({ usesSample: m.usesSample });
        return;
      case 'load-failed':
        clearTimeout(this.timer);
        this.onLoaded.reject(loadError(this.opts.appName, m));
        void this.terminate();
        return;
      case 'done':
      case 'failed': {
        if (this.pending?.id !== m.id) return;
        if (m.type === 'done') return this.settle({ ok: true, results: m.results, metrics: m.metrics });
        this.settle({ ok: false, error: m.error });
        // Its buffers stay past the run: a fresh thread starts with none.
        if (m.memory) void this.terminate();
        return;
      }
      case 'log':
        contextLog(this.opts.logger, { applicationName: this.opts.appName, endpoint: { id: m.endpoint } as ContextData['endpoint'], startMs: m.startMs })(m.level, m.msg, m.data);
        return;
      case 'reference':
        void this.answerReference(m);
        return;
    }
  }

  private async answerReference(m: Extract<FromAppThread, { type: 'reference' }>): Promise<void> {
    let answer: ToAppThread;
    try {
      const found = await this.pending?.trainingSets.lookup(m.modelUri);
      answer = !found ? { type: 'reference', id: m.id } : found.version === m.version ? { type: 'reference', id: m.id, version: found.version } : { type: 'reference', id: m.id, version: found.version, data: await found.table };
    } catch (err) {
      answer = { type: 'reference', id: m.id, error: errorMessage(err) };
    }
    if (!this.ended) this.worker.postMessage(answer);
  }
}

/** The app's load error as the thread reported it, as the error class it was. */
function loadError(app: string, m: Extract<FromAppThread, { type: 'load-failed' }>): ModelwatchError {
  if (m.code === 'validation_error') return new ValidationError(m.message, m.details);
  return new ApplicationError(app, appReason(app, m.message));
}

class ThreadHost implements AppHost {
  readonly isolation = 'thread';
  usesSample = true;
  private thread: AppThread | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly log: Logger;

  constructor(private readonly opts: AppThreadOptions) {
    this.log = opts.logger.child({ app: opts.appName });
  }

  /** Starts a thread and waits until the app has loaded in it. */
  async start(): Promise<void> {
    const script = await threadScript(ENTRY);
    if (this.closed) throw new Error(failure.stopped);
    // Kept at once, so that close() ends it while it loads too.
    const thread = (this.thread = new AppThread(script, this.opts, this.log));
    try {
      this.usesSample = (await thread.loaded).usesSample;
    } catch (err) {
      this.thread = undefined;
      await thread.terminate();
      throw err;
    }
  }

  run(data: ContextData, trainingSets: TrainingSets): Promise<RunOutcome> {
    const run = this.queue.then(() => this.runNow(data, trainingSets));
    this.queue = run;
    return run;
  }

  private async runNow(data: ContextData, trainingSets: TrainingSets): Promise<RunOutcome> {
    const stopped = { ok: false, error: failure.stopped, stopped: true } as const;
    if (this.closed) return stopped;
    if (!this.thread || this.thread.ended) {
      try {
        await this.start();
      } catch (err) {
        return this.closed ? stopped : { ok: false, error: failure.restart(errorMessage(err)) };
      }
      this.log.info('the application\'s thread was started again');
    }
    return this.thread!.run(data, trainingSets);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.thread?.stop();
  }
}

// ---- an app given as a class or instance (embedded mode) -------------------------------------

const TIMED_OUT = Symbol('timed out');

/** Runs an app given as a class or instance on the calling thread, see the module comment. */
export function inProcessHost(app: MonitoringApplication, opts: { appName: string; artifactPath: string; logger: Logger; limits: RunLimits }): AppHost {
  return {
    isolation: 'in-process',
    usesSample: app.usesSample !== false,
    async run(data, trainingSets) {
      const ctx = contextFromData(data, { artifactPath: opts.artifactPath, log: contextLog(opts.logger, data), trainingSet: (uri) => trainingSets.get(uri) });
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<typeof TIMED_OUT>((resolve) => (timer = setTimeout(() => resolve(TIMED_OUT), opts.limits.timeoutSeconds * 1000)));
      let output: unknown;
      try {
        output = await Promise.race([Promise.resolve().then(() => app.doTracking(ctx)), deadline]);
      } catch (err) {
        return { ok: false, error: failure.threw(appReason(opts.appName, errorMessage(err))) };
      } finally {
        clearTimeout(timer);
      }
      if (output === TIMED_OUT) return { ok: false, error: failure.timedOutInProcess(opts.limits.timeoutSeconds) };
      return normalized(opts.appName, output);
    },
    close: () => Promise.resolve(),
  };
}
