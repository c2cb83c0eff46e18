import { errorMessage } from '../common/errors.ts';
import type { PlatformOptions } from '../common/config.ts';
import type { Logger } from '../common/logger.ts';
import { CONTROLLER_FUNCTION, STREAM_FUNCTION, WRITER_FUNCTION } from '../common/names.ts';
import { runLoop } from '../pipeline/worker.ts';
import { Platform } from '../project/platform.ts';
import { createWorker } from '../project/runtime.ts';
import { UsageError } from './errors.ts';

/** The infrastructure role names `--role` takes, and the functions they stand for. */
export const ROLES = { stream: STREAM_FUNCTION, controller: CONTROLLER_FUNCTION, writer: WRITER_FUNCTION } as const;

/** Options of {@link runWorker}. */
export interface WorkerOptions {
  project: string;
  function?: string;
  role?: string;
  platform: PlatformOptions;
  logger: Logger;
  /** @default 10_000 */
  heartbeatMs?: number;
  /** Stops the worker when aborted (tests); SIGTERM and SIGINT always do. */
  signal?: AbortSignal;
}

/**
 * Runs one deployed function until SIGTERM/SIGINT (or the supervising parent goes away):
 * loads its record, builds its worker, loops, then finishes the step in flight, flushes and
 * closes. Stream processors thereby ack their in-flight batch; a serving function keeps
 * answering until the signal. Resolves with the process exit code.
 */
export async function runWorker(opts: WorkerOptions): Promise<number> {
  const name = functionName(opts);
  const stop = new AbortController();
  const log = opts.logger.child({ project: opts.project, function: name });
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
  let heartbeat: NodeJS.Timeout | undefined;
  try {
    const rec = await platform.store.getFunction(opts.project, name);
    if (!rec) throw new UsageError(`function '${name}' of project '${opts.project}' was not found`);
    if (!rec.deployed) throw new UsageError(`function '${name}' of project '${opts.project}' is not deployed; deploy it first`);
    const worker = await createWorker(platform, rec);
    const beat = async (): Promise<void> => {
      try {
        await platform.store.updateFunctionStatus(opts.project, name, { heartbeatAt: platform.clock.now() });
      } catch (err) {
        log.warn({ err: errorMessage(err) }, 'could not record heartbeat');
      }
    };
    try {
      await platform.store.updateFunctionStatus(opts.project, name, { state: 'running', pid: process.pid, heartbeatAt: platform.clock.now() });
      heartbeat = setInterval(() => void beat(), opts.heartbeatMs ?? 10_000);
      log.info('worker running');
      if (rec.kind === 'serving') {
        // The HTTP server answers on its own; this process only waits to be told to stop.
        await new Promise<void>((resolve) => (stop.signal.aborted ? resolve() : stop.signal.addEventListener('abort', () => resolve(), { once: true })));
      } else {
        await runLoop(worker, stop.signal, log, name === CONTROLLER_FUNCTION ? 1000 : 100);
      }
    } finally {
      clearInterval(heartbeat);
      await worker.flush?.().catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'flush on stop failed'));
      await worker.close?.();
    }
    await platform.store.updateFunctionStatus(opts.project, name, { state: 'stopped' }).catch(() => undefined);
    log.info('worker stopped');
    return 0;
  } finally {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    process.off('disconnect', onDisconnect);
    await platform.close();
  }
}

function functionName(opts: WorkerOptions): string {
  if (opts.function && opts.role) throw new UsageError('give --function or --role, not both');
  if (opts.function) return opts.function;
  if (!opts.role) throw new UsageError(`worker needs --function NAME or --role ${Object.keys(ROLES).join('|')}`);
  const n = ROLES[opts.role as keyof typeof ROLES];
  if (!n) throw new UsageError(`--role must be one of ${Object.keys(ROLES).join(', ')}, got '${opts.role}'`);
  return n;
}
