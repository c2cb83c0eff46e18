import { DeployTimeoutError, ModelwatchError, NoSupervisorError, NotFoundError, NotRunningError, errorMessage, reviveError, type FunctionStateDetails } from '../common/errors.ts';
import { redactSecrets } from '../common/redact.ts';
import type { FunctionRecord, FunctionStatus } from '../store/port.ts';
import type { Platform } from './platform.ts';

/**
 * The lease a supervisor (`modelwatch up`) holds while it runs the deployed functions of its
 * store; a live one means a deployed function will be started.
 */
export const SUPERVISOR_LEASE = 'modelwatch-supervisor';

/** Options of `deployFunction`. */
export interface DeployOptions {
  /**
   * Wait until the function runs (its worker reported running) or failed (its error is thrown).
   * Without a running supervisor that fails at once, with nothing changed. `false` only marks the
   * function deployed, for `modelwatch worker` processes run by hand. Embedded mode always runs
   * the function before returning. @default true
   */
  wait?: boolean;
  /** How long to wait for the worker. @default 60 */
  timeoutSeconds?: number;
}

/** Default of {@link DeployOptions.timeoutSeconds}. */
export const DEFAULT_DEPLOY_TIMEOUT_SECONDS = 60;

/** True when a supervisor holds its lease on this store now. */
export async function supervisorRunning(platform: Platform): Promise<boolean> {
  return (await platform.store.leaseHolder(SUPERVISOR_LEASE, Date.now())) !== undefined;
}

/** The error of deploying with no supervisor to run the function. */
export function noSupervisorError(project: string, name: string): NoSupervisorError {
  return new NoSupervisorError(
    `deployed functions run under \`modelwatch up\`, and none runs for this store, so nothing would start '${name}': ` +
      'start `modelwatch up` (same home or store URLs), then deploy again; or deploy without waiting ' +
      '(SDK: { wait: false }, CLI: --no-wait) to only mark it deployed for `modelwatch worker` processes of your own',
    { project, function: name },
  );
}

/** The status fields recorded when a function fails to start or run: its error, by code and message. */
export function failedStatus(err: unknown, version: number): Partial<FunctionStatus> {
  return {
    state: 'crashed',
    // Read APIs show it, and the store keeps it: never a connection's password.
    lastError: redactSecrets(errorMessage(err)),
    lastErrorCode: err instanceof ModelwatchError ? err.code : 'internal_error',
    pid: process.pid,
    version,
  };
}

function stateDetails(f: FunctionRecord): FunctionStateDetails {
  const s = f.status;
  return {
    function: f.name,
    state: f.deployed ? s.state : 'not-deployed',
    ...(s.lastError ? { lastError: s.lastError } : {}),
    ...(s.restarts ? { restarts: s.restarts } : {}),
  };
}

/**
 * Why a function does not serve, from its record: not deployed, starting (waiting for a server
 * when `supervisor` is false), crashed or stopped, with its last error.
 */
export function notRunningError(f: FunctionRecord, supervisor: boolean | undefined): NotRunningError {
  const s = f.status;
  const what = `${f.kind === 'serving' ? 'serving ' : ''}function '${f.name}'`;
  const last = s.lastError ? `; last error: ${s.lastError}` : '';
  const noServer = supervisor === false ? ' (no `modelwatch up` runs the functions of this store: start it)' : '';
  let message: string;
  if (!f.deployed) message = `${what} is not deployed; deploy it first`;
  else if (s.state === 'crashed') message = `${what} is not running: its worker crashed${s.restarts ? ` (restarted ${s.restarts} times)` : ''}${last}`;
  else if (s.state === 'stopped') message = `${what} is stopped${noServer}`;
  else message = `${what} is still starting${noServer || '; try again in a moment'}${s.restarts ? last : ''}`;
  return new NotRunningError(message, stateDetails(f));
}

/**
 * Waits until the worker of a deploy (the record version `version`) reports running, and returns
 * the record then; throws the worker's own error when it reports failing to start, and
 * {@link DeployTimeoutError} when it says neither in time. Follows a redeploy made meanwhile.
 */
export async function awaitRunning(platform: Platform, project: string, name: string, version: number, timeoutSeconds: number): Promise<FunctionRecord> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  let f: FunctionRecord | undefined;
  for (;;) {
    f = await platform.store.getFunction(project, name);
    if (!f) throw new NotFoundError('function', name);
    if (!f.deployed) throw notRunningError(f, undefined);
    if (f.updatedAt > version) version = f.updatedAt;
    const s = f.status;
    if (s.version === version && s.state === 'running') return f;
    if (s.version === version && s.state === 'crashed') {
      throw reviveError(s.lastErrorCode ?? 'worker_exited', s.lastError ?? `the worker of '${name}' stopped`, { details: { ...stateDetails(f) } });
    }
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new DeployTimeoutError(
    `function '${name}' did not report running within ${timeoutSeconds} s (state: ${f.status.state}); it stays deployed, see \`functions list\``,
    stateDetails(f),
  );
}
