import { errorMessage } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import type { AppMetric, AppResult } from '../common/types.ts';
import type { FunctionStatus } from '../store/port.ts';

/**
 * A deployed function's work loop. `step()` does one unit of work and says how much it did,
 * so the same worker runs in a loop (server, `modelwatch worker`) or is driven step by step
 * (embedded SDK, tests, the demo).
 */
export interface Worker {
  readonly name: string;
  step(): Promise<number>;
  /** Pushes out anything buffered (tracking queues); called before a drain and on stop. */
  flush?(): Promise<void>;
  /** Stops, finishing the work in flight within `deadlineMs` where the worker has such work (serving: its requests). */
  close?(opts?: { deadlineMs?: number }): Promise<void>;
  /** Called on every heartbeat of `modelwatch worker`: what to record in the function's status beside it. */
  heartbeat?(): Partial<FunctionStatus>;
}

/** Window messages the controller sends to an application. */
export interface WindowJob {
  type: 'window';
  project: string;
  endpointId: string;
  app: string;
  windowStart: number;
  windowEnd: number;
}

/** Messages applications send to the writer. */
export type WriterMessage =
  | {
      type: 'outputs';
      project: string;
      endpointId: string;
      app: string;
      windowStart: number;
      windowEnd: number;
      results: AppResult[];
      metrics: AppMetric[];
    }
  | { type: 'app-failed'; project: string; endpointId: string; app: string; windowStart: number; windowEnd: number; error: string };

/**
 * Runs `worker.step()` until `signal` aborts, pausing `idleMs` (real time) when a step found
 * nothing to do and backing off after errors. Never throws: errors are logged and retried.
 */
export async function runLoop(worker: Worker, signal: AbortSignal, logger: Logger, idleMs = 200): Promise<void> {
  let failures = 0;
  while (!signal.aborted) {
    let did = 0;
    try {
      did = await worker.step();
      failures = 0;
    } catch (err) {
      failures++;
      logger.error({ worker: worker.name, err: errorMessage(err) }, 'worker step failed; retrying');
    }
    if (did === 0 || failures > 0) await pause(failures > 0 ? Math.min(30_000, 500 * 2 ** Math.min(failures, 6)) : idleMs, signal);
    // A step that did work may have run on promises alone (SQLite and the embedded log answer
    // synchronously): a turn of the event loop lets timers and I/O in before the next one, which
    // in an embedded process includes the HTTP requests of serving.
    else await new Promise((r) => setImmediate(r));
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Start of the base-period window holding `t`, aligned to the wall clock. */
export function windowStartOf(t: number, periodMs: number): number {
  return Math.floor(t / periodMs) * periodMs;
}
