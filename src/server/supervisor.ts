import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { errorMessage } from '../common/errors.ts';
import { SHUTDOWN_DEADLINE_MS } from '../common/limits.ts';
import { moduleUrl, nodeArgs } from '../common/module-url.ts';
import { RepeatedWarning } from '../common/logger.ts';
import { redactSecrets } from '../common/redact.ts';
import { SUPERVISOR_LEASE } from '../project/deploy-state.ts';
import type { Platform } from '../project/platform.ts';
import type { FunctionRecord, FunctionStatus } from '../store/port.ts';
import { LineTail, forwardLines } from './child-output.ts';

/** Options of the {@link Supervisor}. */
export interface SupervisorOptions {
  /** How often the store is read for deployed functions. @default 1000 */
  pollMs?: number;
  /** First restart delay after a crash; doubles per crash. @default 1000 */
  initialBackoffMs?: number;
  /** @default 30_000 */
  maxBackoffMs?: number;
  /** A child that ran this long before crashing starts again from the first delay. @default 60_000 */
  healthyAfterMs?: number;
  /**
   * How long a worker may take to stop gracefully (a serving function answers its requests in
   * flight and flushes tracking); told to it as MODELWATCH_SHUTDOWN_TIMEOUT_SECONDS. @default 10_000
   */
  workerShutdownMs?: number;
  /** Time between SIGTERM and SIGKILL. @default workerShutdownMs + 5000 */
  stopTimeoutMs?: number;
  /**
   * How long the supervisor lease lasts without renewal. One supervisor per store runs the
   * functions, so a second `up` on the same home does not start every worker twice.
   * @default 15_000
   */
  leaseMs?: number;
  /** Extra environment for the children (tests set `MODELWATCH_LOG_LEVEL`). */
  env?: NodeJS.ProcessEnv;
  /**
   * Where children's output lines go. @default written to this process's stdout/stderr,
   * prefixed with `[project/function]`
   */
  onOutput?: (fn: { project: string; name: string }, stream: 'stdout' | 'stderr', line: string) => void;
}

/** What the supervisor knows of one child, as `children()` shows it. */
export interface ChildInfo {
  project: string;
  name: string;
  pid: number | undefined;
  restarts: number;
  state: FunctionStatus['state'];
}

interface Child {
  project: string;
  name: string;
  /** The record's `updatedAt` this child was started for; a change means redeploy. */
  version: number;
  proc: ChildProcess | undefined;
  exited: Promise<void>;
  startedAt: number;
  restarts: number;
  backoffMs: number;
  restartTimer: NodeJS.Timeout | undefined;
  stopping: boolean;
  state: FunctionStatus['state'];
  tail: LineTail;
  /** A serving function's port, handed to each worker started for it so that its address stays. */
  port: number | undefined;
}

// The CLI of the same form as this module (compiled, or the sources through tsx).
const CLI_MAIN = moduleUrl('../cli/main.ts', import.meta.url);

/**
 * Runs every deployed function as a child process (`modelwatch worker`), restarts crashed
 * ones with exponential backoff, restarts redeployed ones, stops undeployed or removed ones,
 * and records health (state, pid, restarts, last error) in the function's status.
 */
export class Supervisor {
  private readonly children = new Map<string, Child>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private readonly pending = new Set<Promise<void>>();
  private stopped = false;
  private leader = false;
  /** The store is polled every second: while it is down, that is logged with growing gaps. */
  private readonly readFailures: RepeatedWarning;
  private readonly holder = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly o: Required<Omit<SupervisorOptions, 'env' | 'onOutput'>> & Pick<SupervisorOptions, 'env' | 'onOutput'>;

  constructor(
    private readonly platform: Platform,
    opts: SupervisorOptions = {},
  ) {
    this.o = {
      pollMs: opts.pollMs ?? 1000,
      initialBackoffMs: opts.initialBackoffMs ?? 1000,
      maxBackoffMs: opts.maxBackoffMs ?? 30_000,
      healthyAfterMs: opts.healthyAfterMs ?? 60_000,
      workerShutdownMs: opts.workerShutdownMs ?? SHUTDOWN_DEADLINE_MS,
      stopTimeoutMs: opts.stopTimeoutMs ?? (opts.workerShutdownMs ?? SHUTDOWN_DEADLINE_MS) + 5000,
      leaseMs: opts.leaseMs ?? 15_000,
      env: opts.env,
      onOutput: opts.onOutput,
    };
    this.readFailures = new RepeatedWarning(platform.logger, 'supervisor could not read functions; retrying');
  }

  private firstPassDone: (() => void) | undefined;
  /**
   * Settles once the first pass after {@link start} has run: from then on this supervisor holds
   * its lease (or knows another one does), so a deploy waits for it rather than failing.
   */
  readonly firstPass = new Promise<void>((resolve) => (this.firstPassDone = resolve));

  /** Starts polling; the first reconcile runs at once. */
  start(): void {
    if (this.timer || this.stopped) return;
    const loop = (): void => {
      this.ticking = this.reconcile().finally(() => {
        this.ticking = undefined;
        this.firstPassDone?.();
        this.firstPassDone = undefined;
        if (!this.stopped) this.timer = setTimeout(loop, this.o.pollMs);
      });
    };
    this.timer = setTimeout(loop, 0);
  }

  /** Snapshot of the children, for tests and the `up` banner. */
  list(): ChildInfo[] {
    return [...this.children.values()].map((c) => ({ project: c.project, name: c.name, pid: c.proc?.pid, restarts: c.restarts, state: c.state }));
  }

  /** One pass: start what is deployed and not running, stop what is not deployed any more. */
  async reconcile(): Promise<void> {
    let fns: FunctionRecord[];
    try {
      const leader = await this.platform.store.acquireLease(SUPERVISOR_LEASE, this.holder, this.o.leaseMs, Date.now());
      if (leader !== this.leader) {
        this.platform.logger.info({ holder: this.holder }, leader ? 'supervising deployed functions' : 'another supervisor runs the functions of this store; standing by');
      }
      this.leader = leader;
      if (!leader) {
        for (const c of this.children.values()) if (!c.stopping) this.track(this.stopChild(c, false));
        return;
      }
      fns = await this.platform.store.listFunctions();
      this.readFailures.recovered();
    } catch (err) {
      this.readFailures.warn({ err: errorMessage(err) });
      return;
    }
    if (this.stopped) return;
    const desired = new Map(fns.filter((f) => f.deployed).map((f) => [key(f.project, f.name), f]));
    for (const [k, c] of this.children) {
      if (c.stopping) continue; // leaves the map once it has exited
      const f = desired.get(k);
      if (!f) this.track(this.stopChild(c, true));
      else if (f.updatedAt !== c.version) {
        // Redeployed: a fresh child on the new spec, with a clean crash history.
        this.track(this.stopChild(c, false).then(() => (this.stopped ? undefined : this.spawnChild(f, 0))));
      }
    }
    for (const [k, f] of desired) if (!this.children.has(k)) this.spawnChild(f, 0);
  }

  /** Stops run in the background so that one slow child does not hold up the others. */
  private track(p: Promise<void>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** Stops polling and every child (SIGTERM, then SIGKILL after the stop timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.ticking;
    await Promise.all([...this.pending, ...[...this.children.values()].map((c) => this.stopChild(c, true))]);
    if (this.leader) await this.platform.store.releaseLease(SUPERVISOR_LEASE, this.holder).catch(() => undefined);
    this.leader = false;
  }

  private spawnChild(f: FunctionRecord, restarts: number, previous?: Child): void {
    const opts = this.platform.options;
    // A serving function listens where it did before (the port its last worker recorded).
    const port = f.kind === 'serving' ? (previous?.port ?? f.status.port) : undefined;
    // The worker loads code only from this server's code roots (its default would be its working folder).
    const roots = this.platform.codeRoots?.roots.flatMap((r) => ['--code-root', r]) ?? [];
    const args = [...nodeArgs(CLI_MAIN), 'worker', '--project', f.project, '--function', f.name, '--home', opts.home, ...roots, ...(port ? ['--port', String(port)] : [])];
    const proc = spawn(process.execPath, args, {
      // Connection URLs may carry passwords: the environment keeps them out of `ps`.
      env: {
        ...process.env,
        MODELWATCH_STORE_URL: opts.storeUrl,
        MODELWATCH_TSDB_URL: opts.tsdbUrl,
        MODELWATCH_STREAM_URL: opts.streamUrl,
        MODELWATCH_ARTIFACT_PATH: opts.artifactPath,
        MODELWATCH_SHUTDOWN_TIMEOUT_SECONDS: String(this.o.workerShutdownMs / 1000),
        ...this.o.env,
      },
      // The IPC channel lets the worker notice when this process dies and exit with it.
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const c: Child = previous ?? {
      project: f.project,
      name: f.name,
      version: f.updatedAt,
      proc: undefined,
      exited: Promise.resolve(),
      startedAt: 0,
      restarts,
      backoffMs: this.o.initialBackoffMs,
      restartTimer: undefined,
      stopping: false,
      state: 'starting',
      tail: new LineTail(20),
      port,
    };
    c.proc = proc;
    c.startedAt = Date.now();
    c.restarts = restarts;
    c.state = 'starting';
    c.restartTimer = undefined;
    this.children.set(key(f.project, f.name), c);
    const label = { project: f.project, name: f.name };
    const out = this.o.onOutput ?? defaultOutput;
    forwardLines(proc.stdout, (line) => out(label, 'stdout', line));
    forwardLines(proc.stderr, (line) => {
      c.tail.push(line);
      out(label, 'stderr', line);
    });
    c.exited = new Promise((resolve) => {
      let settled = false;
      const ended = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (settled) return;
        settled = true;
        if (c.proc === proc) c.proc = undefined;
        void this.onExit(c, f, proc.pid, code, signal).finally(resolve);
      };
      // 'close' comes after the output pipes are drained, so the tail holds the last words.
      proc.once('close', ended);
      proc.on('error', (err) => {
        c.tail.push(errorMessage(err));
        // No pid: spawn itself failed and no close may follow; count it as a crash.
        if (proc.pid === undefined) ended(null, null);
      });
    });
    // The worker records `running` itself once its function is loaded and working (or its own
    // error when it cannot start); `version` tells a deploy waiting for this start which it is.
    this.status(c, { state: 'starting', pid: proc.pid, restarts, version: c.version });
    proc.once('spawn', () => {
      c.state = 'running';
    });
  }

  private async onExit(c: Child, f: FunctionRecord, pid: number | undefined, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    if (c.stopping || this.stopped) return;
    const ranMs = Date.now() - c.startedAt;
    if (ranMs >= this.o.healthyAfterMs) c.backoffMs = this.o.initialBackoffMs;
    const delay = c.backoffMs;
    c.backoffMs = Math.min(c.backoffMs * 2, this.o.maxBackoffMs);
    c.state = 'crashed';
    const how = signal ? `killed by ${signal}` : `exited with code ${String(code)}`;
    if (f.kind === 'serving') c.port = (await this.recordedPort(c)) ?? c.port;
    this.platform.logger.warn({ project: c.project, function: c.name, how, restartInMs: delay }, 'worker stopped unexpectedly; restarting');
    if (await this.recordedOwnError(c, pid)) {
      // The worker said why it stopped (its own error, with its code): that is the last error.
      await this.statusNow(c, { state: 'crashed', restarts: c.restarts });
    } else {
      const lastError = [`worker ${how}`, ...c.tail.lines()].join('\n');
      await this.statusNow(c, { state: 'crashed', lastError, lastErrorCode: 'worker_exited', restarts: c.restarts, version: c.version });
    }
    c.restartTimer = setTimeout(() => {
      c.restartTimer = undefined;
      if (this.stopped || c.stopping || this.children.get(key(c.project, c.name)) !== c) return;
      this.spawnChild(f, c.restarts + 1, c);
    }, delay);
  }

  /** The port a serving function's worker recorded (undefined when the store cannot tell now). */
  private async recordedPort(c: Child): Promise<number | undefined> {
    try {
      return (await this.platform.store.getFunction(c.project, c.name))?.status.port;
    } catch {
      return undefined;
    }
  }

  /** True when the exited process `pid` recorded its own failure (see `failedStatus`) before it ended. */
  private async recordedOwnError(c: Child, pid: number | undefined): Promise<boolean> {
    try {
      const s = (await this.platform.store.getFunction(c.project, c.name))?.status;
      return pid !== undefined && s?.state === 'crashed' && s.pid === pid;
    } catch {
      return false;
    }
  }

  /** Stops a child; `recordStopped` writes `stopped` to its status (when its record still exists). */
  private async stopChild(c: Child, recordStopped: boolean): Promise<void> {
    c.stopping = true;
    clearTimeout(c.restartTimer);
    const proc = c.proc;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const killer = setTimeout(() => proc.kill('SIGKILL'), this.o.stopTimeoutMs);
      await c.exited;
      clearTimeout(killer);
    }
    if (this.children.get(key(c.project, c.name)) === c) this.children.delete(key(c.project, c.name));
    c.state = 'stopped';
    if (recordStopped) await this.statusNow(c, { state: 'stopped' });
  }

  private status(c: Child, s: Partial<FunctionStatus>): void {
    void this.statusNow(c, s);
  }

  private async statusNow(c: Child, s: Partial<FunctionStatus>): Promise<void> {
    try {
      await this.platform.store.updateFunctionStatus(c.project, c.name, s);
    } catch (err) {
      // The record may be gone (function removed): nothing to record then.
      this.platform.logger.debug({ project: c.project, function: c.name, err: errorMessage(err) }, 'could not record function status');
    }
  }
}

function key(project: string, name: string): string {
  return `${project}/${name}`;
}

function defaultOutput(fn: { project: string; name: string }, stream: 'stdout' | 'stderr', line: string): void {
  (stream === 'stdout' ? process.stdout : process.stderr).write(`[${fn.project}/${fn.name}] ${redactSecrets(line)}\n`);
}
