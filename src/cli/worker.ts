import { ApplicationRunner } from '../apps/runner.ts';
import { errorMessage } from '../common/errors.ts';
import type { PlatformOptions } from '../common/config.ts';
import type { Logger } from '../common/logger.ts';
import { CONTROLLER_FUNCTION } from '../common/names.ts';
import { Controller } from '../pipeline/controller/controller.ts';
import { runLoop, type Worker } from '../pipeline/worker.ts';
import { failedStatus } from '../project/deploy-state.ts';
import { Platform } from '../project/platform.ts';
import { createWorker } from '../project/runtime.ts';
import type { FunctionRecord } from '../store/port.ts';
import { UsageError } from './errors.ts';
import { ROLES } from './roles.ts';

/** Options of {@link runWorker}. */
export interface WorkerOptions {
  project: string;
  function?: string;
  role?: string;
  platform: PlatformOptions;
  logger: Logger;
  /** @default 10_000 */
  heartbeatMs?: number;
  /** The controller's leadership lease (real ms); a crashed leader is replaced after it. @default the controller's (60 s) */
  leaseTtlMs?: number;
  /** `--role apps`: how often the deployed applications are listed again (real ms). @default 10_000 */
  appsRefreshMs?: number;
  /** Stops the worker when aborted (tests); SIGTERM and SIGINT always do. */
  signal?: AbortSignal;
  /** How long a serving function may take to answer its requests in flight and flush tracking once told to stop. @default 10_000 */
  shutdownDeadlineMs?: number;
  /** A serving function whose spec names no port: the port it had before, tried first (see `listenOnChosenPort`). */
  servingPort?: number;
}

/**
 * Runs one deployed function — or, with `--role apps`, every deployed monitoring application —
 * until SIGTERM/SIGINT (or the supervising parent goes away): loads the records, builds the
 * workers, loops, then finishes the steps in flight, flushes and closes. Stream processors thereby
 * ack their in-flight batch; a serving function keeps answering until the signal. Resolves with
 * the process exit code.
 */
export async function runWorker(opts: WorkerOptions): Promise<number> {
  const name = functionName(opts);
  if (opts.leaseTtlMs !== undefined && name !== CONTROLLER_FUNCTION) throw new UsageError('a lease length applies to the controller only');
  const stop = new AbortController();
  const log = opts.logger.child({ project: opts.project, ...(name ? { function: name } : { role: 'apps' }) });
  let signals = 0;
  const onSignal = (sig: string): void => {
    signals++;
    if (signals > 1) {
      // A second Ctrl-C means: do not wait for the flush.
      log.warn({ signal: sig }, 'second signal; exiting now');
      process.exit(130);
    }
    log.info({ signal: sig }, 'stopping');
    stop.abort();
  };
  const onTerm = (): void => onSignal('SIGTERM');
  const onInt = (): void => onSignal('SIGINT');
  const onDisconnect = (): void => onSignal('parent exited');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  // Started by the supervisor with an IPC channel: when the server dies, so does its worker.
  if (process.connected) process.on('disconnect', onDisconnect);
  opts.signal?.addEventListener('abort', () => stop.abort(), { once: true });

  const platform = await Platform.open({ ...opts.platform, logger: opts.logger });
  try {
    if (name === undefined) await runApps(platform, opts, stop.signal, log);
    else await runFunction(platform, name, opts, stop.signal, log);
    return 0;
  } finally {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    process.off('disconnect', onDisconnect);
    await platform.close();
  }
}

/** One deployed function in this process. */
async function runFunction(platform: Platform, name: string, opts: WorkerOptions, signal: AbortSignal, log: Logger): Promise<void> {
  const rec = await platform.store.getFunction(opts.project, name);
  if (!rec) throw new UsageError(`function '${name}' of project '${opts.project}' was not found`);
  if (!rec.deployed) {
    throw new UsageError(`function '${name}' of project '${opts.project}' is not deployed; mark it deployed first: modelwatch functions deploy ${name} --project ${opts.project} --no-wait`);
  }
  let worker: Worker;
  try {
    worker =
      name === CONTROLLER_FUNCTION && opts.leaseTtlMs !== undefined
        ? new Controller(platform, opts.project, { leaseTtlMs: opts.leaseTtlMs })
        : await createWorker(platform, rec, undefined, opts.servingPort);
  } catch (err) {
    // Its own error, by code and message, for whoever deployed it (and `functions list`).
    await platform.store.updateFunctionStatus(opts.project, name, failedStatus(err, rec.updatedAt)).catch(() => undefined);
    throw err;
  }
  const heartbeat = new Heartbeat(platform, opts.project, log);
  try {
    await heartbeat.started(name, rec.updatedAt, worker);
    heartbeat.start(opts.heartbeatMs ?? 10_000);
    log.info('worker running');
    if (rec.kind === 'serving') {
      // The HTTP server answers on its own; this process only waits to be told to stop.
      await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
    } else {
      await runLoop(worker, signal, log, name === CONTROLLER_FUNCTION ? 1000 : 100);
    }
  } finally {
    heartbeat.stop();
    // A serving function stops accepting, answers what is in flight, then flushes its tracking itself.
    if (rec.kind === 'serving') await worker.close?.(opts.shutdownDeadlineMs !== undefined ? { deadlineMs: opts.shutdownDeadlineMs } : {});
    else await stopWorker(worker, log);
  }
  await heartbeat.stopped(name);
  log.info('worker stopped');
}

interface RunningApp {
  worker: Worker;
  /** The spec it was built from: a redeployed app with another spec is restarted. */
  spec: string;
  abort: AbortController;
  loop: Promise<void>;
}

/**
 * Every deployed monitoring application of the project, each as its own worker and loop. The
 * deployed set is listed again every `appsRefreshMs`: new apps start, undeployed ones stop,
 * redeployed ones restart. Each app reads its topic as the consumer group `app-<name>`, so several
 * such processes share the windows and none is analyzed by two of them.
 */
async function runApps(platform: Platform, opts: WorkerOptions, signal: AbortSignal, log: Logger): Promise<void> {
  const running = new Map<string, RunningApp>();
  /** Apps whose worker could not be built, with the spec that failed: tried again once it changes. */
  const failed = new Map<string, string>();
  const heartbeat = new Heartbeat(platform, opts.project, log);
  const stopApp = async (name: string, r: RunningApp): Promise<void> => {
    running.delete(name);
    r.abort.abort();
    // An app in the middle of a long run (an endless loop, say) is stopped, not waited for.
    if (r.worker instanceof ApplicationRunner) r.worker.interrupt();
    await r.loop;
    await stopWorker(r.worker, log.child({ function: name }));
    await heartbeat.stopped(name);
  };
  const sync = async (): Promise<void> => {
    let deployed: FunctionRecord[];
    try {
      deployed = (await platform.store.listFunctions(opts.project)).filter((f) => f.kind === 'monitoring-application' && f.deployed);
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'could not list the deployed monitoring applications; keeping the running ones');
      return;
    }
    const wanted = new Map(deployed.map((f) => [f.name, f]));
    for (const [name, r] of [...running]) {
      const f = wanted.get(name);
      if (!f || JSON.stringify(f.spec) !== r.spec) {
        log.info({ function: name }, f ? 'application redeployed; restarting it' : 'application undeployed; stopping it');
        await stopApp(name, r);
      }
    }
    // Started side by side: each app loads in a thread of its own, and one slow to load holds up no other.
    const start = async (f: FunctionRecord): Promise<void> => {
      const spec = JSON.stringify(f.spec);
      if (running.has(f.name) || failed.get(f.name) === spec || signal.aborted) return;
      const appLog = log.child({ function: f.name });
      let worker: Worker;
      try {
        worker = await createWorker(platform, f);
      } catch (err) {
        failed.set(f.name, spec);
        appLog.error({ err: errorMessage(err) }, 'could not start the application');
        await platform.store.updateFunctionStatus(opts.project, f.name, failedStatus(err, f.updatedAt)).catch(() => undefined);
        return;
      }
      failed.delete(f.name);
      const abort = new AbortController();
      running.set(f.name, { worker, spec, abort, loop: runLoop(worker, abort.signal, appLog, 100) });
      await heartbeat.started(f.name, f.updatedAt).catch((err: unknown) => appLog.warn({ err: errorMessage(err) }, 'could not record the running state'));
      appLog.info('application running');
    };
    await Promise.all(deployed.map(start));
  };

  await sync();
  if (running.size === 0 && failed.size === 0) log.warn('no monitoring application is deployed yet; waiting for one');
  heartbeat.start(opts.heartbeatMs ?? 10_000);
  try {
    while (!signal.aborted) {
      await pause(opts.appsRefreshMs ?? 10_000, signal);
      if (!signal.aborted) await sync();
    }
  } finally {
    heartbeat.stop();
    await Promise.all([...running].map(([name, r]) => stopApp(name, r)));
  }
  log.info('worker stopped');
}

/** Flushes and closes a worker; a failed flush is logged, not thrown. */
async function stopWorker(worker: Worker, log: Logger): Promise<void> {
  await worker.flush?.().catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'flush on stop failed'));
  await worker.close?.();
}

/** Records state, pid and heartbeats of the functions this process runs. */
class Heartbeat {
  readonly names = new Set<string>();
  /** Workers that add to their status on each heartbeat, by function name. */
  private readonly workers = new Map<string, Worker>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly platform: Platform,
    private readonly project: string,
    private readonly log: Logger,
  ) {}

  /** Records `running` for the deploy `version` (the record's updatedAt this process loaded). */
  async started(name: string, version: number, worker?: Worker): Promise<void> {
    this.names.add(name);
    if (worker?.heartbeat) this.workers.set(name, worker);
    await this.platform.store.updateFunctionStatus(this.project, name, { state: 'running', pid: process.pid, heartbeatAt: this.platform.clock.now(), version });
  }

  async stopped(name: string): Promise<void> {
    this.names.delete(name);
    this.workers.delete(name);
    await this.platform.store.updateFunctionStatus(this.project, name, { state: 'stopped' }).catch(() => undefined);
  }

  start(everyMs: number): void {
    this.timer = setInterval(() => void this.beat(), everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async beat(): Promise<void> {
    for (const name of [...this.names]) {
      try {
        await this.platform.store.updateFunctionStatus(this.project, name, { ...this.workers.get(name)?.heartbeat?.(), heartbeatAt: this.platform.clock.now() });
      } catch (err) {
        this.log.warn({ function: name, err: errorMessage(err) }, 'could not record heartbeat');
      }
    }
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The function `--function`/`--role` names; undefined for `--role apps`. */
function functionName(opts: WorkerOptions): string | undefined {
  const roles = Object.keys(ROLES);
  if (opts.function && opts.role) throw new UsageError('give --function or --role, not both');
  if (opts.function) return opts.function;
  if (!opts.role) throw new UsageError(`worker needs --function NAME or --role ${roles.join('|')}`);
  if (!Object.hasOwn(ROLES, opts.role)) throw new UsageError(`--role must be one of ${roles.join(', ')}, got '${opts.role}'`);
  return ROLES[opts.role as keyof typeof ROLES];
}
