import { errorMessage } from '../common/errors.ts';
import type { AppMetric, AppResult } from '../common/types.ts';
import type { AppSource } from './app-loader.ts';
import type { ReferenceData } from './context.ts';
import type { ContextData } from './context-builder.ts';
import { normalizeOutput, type ApplicationOutput } from './results.ts';

/*
 * What the two sides of an application's thread share (app-host.ts starts and supervises it,
 * app-thread.ts runs in it): the messages between them and how a run's failure is told.
 */

/**
 * How a run of an app on one window ended: its output, or why it failed (the `mm-app-failed`
 * message); `stopped` when the app was stopped (undeployed, process stopping) before the run ended,
 * which says nothing about the window.
 */
export type RunOutcome = { ok: true; results: AppResult[]; metrics: AppMetric[] } | { ok: false; error: string; stopped?: true };

/** The failure messages, one per way a run can fail. */
export const failure = {
  threw: (message: string): string => `threw: ${message}`,
  invalidOutput: (message: string): string => `returned invalid output: ${message}`,
  timedOut: (seconds: number): string => `timed out after ${seconds} s (its timeoutSeconds); the run was stopped`,
  timedOutInProcess: (seconds: number): string =>
    `timed out after ${seconds} s (its timeoutSeconds); given as a class, it runs in this process, where a run cannot be stopped, only no longer waited for`,
  memory: (mb: number, detail = ''): string => `exceeded its memory limit of ${mb} MB (its memoryLimitMb)${detail}; the run was stopped`,
  exited: (code: number): string => `its thread ended during the run (exit code ${code})`,
  restart: (message: string): string => `its thread could not be started again: ${message}`,
  stopped: 'the application was stopped before the run ended',
};

/** `message` without the `monitoring application 'app': ` that ApplicationError puts first. */
export function appReason(app: string, message: string): string {
  const prefix = `monitoring application '${app}': `;
  return message.startsWith(prefix) ? message.slice(prefix.length) : message;
}

/** The app's output validated, or why it is invalid. */
export function normalized(appName: string, output: unknown): RunOutcome {
  try {
    return { ok: true, ...normalizeOutput(appName, output as ApplicationOutput) };
  } catch (err) {
    return { ok: false, error: failure.invalidOutput(appReason(appName, errorMessage(err))) };
  }
}

/** What an app's thread is started with. */
export interface AppThreadInit {
  appName: string;
  source: AppSource;
  /** The app's options (without the run limits). */
  options: Record<string, unknown>;
  artifactPath: string;
  /** Buffers held past a run beyond this fail the run (the heap is capped by the thread's resource limits). */
  memoryLimitMb: number;
}

/** To the thread: run a window; or the answer to its request for a training set (none: no `version`). */
export type ToAppThread =
  | { type: 'run'; id: number; data: ContextData }
  | { type: 'reference'; id: number; version?: string; data?: ReferenceData; error?: string };

/**
 * From the thread: loaded (or not); a run's output or failure (`memory`: the thread should be
 * replaced); a log line of the app; a request for a training set (`version`: the one it holds).
 */
export type FromAppThread =
  | { type: 'ready'; usesSample: boolean }
  | { type: 'load-failed'; code: string | undefined; message: string; details?: Record<string, unknown> }
  | { type: 'done'; id: number; results: AppResult[]; metrics: AppMetric[] }
  | { type: 'failed'; id: number; error: string; memory?: true }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; msg: string; data?: Record<string, unknown>; endpoint: string; startMs: number }
  | { type: 'reference'; id: number; modelUri: string; version?: string };
