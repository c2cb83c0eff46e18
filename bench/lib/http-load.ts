/**
 * HTTP load from its own process: autocannon's programmatic API with a fixed number of
 * connections for a fixed time. Run by {@link LoadProcess}, which forks this file; the child
 * answers a {@link LoadSummary} over IPC for each spec it is sent, and exits when the parent disconnects.
 *
 * autocannon's own histogram keeps whole milliseconds; the latency percentiles here come from
 * every response's time (float milliseconds from `process.hrtime`), so sub-millisecond
 * differences between two runs show.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** One load run. */
export interface LoadSpec {
  url: string;
  method: 'GET' | 'POST';
  body?: string;
  headers?: Record<string, string>;
  connections: number;
  durationS: number;
}

/** Latency of 2xx responses. */
interface Latency {
  ok: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  meanMs: number;
}

/** What one load run measured. */
export interface LoadSummary {
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  seconds: number;
  requestsPerS: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  meanMs: number;
}

// The part of autocannon used here (the package ships no types).
interface AutocannonResult {
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  duration: number;
  requests: { total: number };
}
interface AutocannonInstance {
  on(event: 'response', fn: (client: unknown, statusCode: number, resBytes: number, responseTimeMs: number) => void): void;
  on(event: 'done', fn: (result: AutocannonResult) => void): void;
  on(event: 'error', fn: (err: Error) => void): void;
}
type Autocannon = (opts: Record<string, unknown>) => AutocannonInstance;

/** The value at quantile `q` of sorted values (nearest rank). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] as number;
}

/** Latencies (ms) kept in a Float64Array grown by doubling: a plain array of numbers would box less compactly at 100k+ responses. */
class Latencies {
  private values = new Float64Array(1 << 16);
  n = 0;

  push(ms: number): void {
    if (this.n === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.n++] = ms;
  }

  summary(): Latency {
    const sorted = this.values.subarray(0, this.n).sort();
    let sum = 0;
    for (let i = 0; i < this.n; i++) sum += sorted[i] as number;
    return { ok: this.n, p50Ms: quantile(sorted, 0.5), p90Ms: quantile(sorted, 0.9), p99Ms: quantile(sorted, 0.99), meanMs: this.n > 0 ? sum / this.n : Number.NaN };
  }
}

async function load(spec: LoadSpec): Promise<LoadSummary> {
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
  const all = new Latencies();
  const instance = autocannon({
    url: spec.url,
    method: spec.method,
    ...(spec.body !== undefined ? { body: spec.body } : {}),
    headers: spec.headers ?? {},
    connections: spec.connections,
    duration: spec.durationS,
  });
  instance.on('response', (_client, statusCode, _bytes, ms) => {
    if (statusCode < 200 || statusCode >= 300) return;
    all.push(ms);
  });
  const [result] = (await Promise.race([once(instance as unknown as NodeJS.EventEmitter, 'done'), once(instance as unknown as NodeJS.EventEmitter, 'error').then(([e]) => Promise.reject(e as Error))])) as [AutocannonResult];
  const total = all.summary();
  return {
    requests: result.requests.total,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    seconds: result.duration,
    requestsPerS: result['2xx'] / result.duration,
    p50Ms: total.p50Ms,
    p90Ms: total.p90Ms,
    p99Ms: total.p99Ms,
    meanMs: total.meanMs,
  };
}

const SELF = fileURLToPath(import.meta.url);

type LoadReply = { ok: true; summary: LoadSummary } | { ok: false; error: string };

/**
 * A load process (so that the load and the server do not share an event loop), kept for several
 * runs. Runs one {@link LoadSpec} at a time.
 */
export class LoadProcess {
  private constructor(private readonly child: ChildProcess) {}

  /** The load process's pid (for its CPU time). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  static start(): LoadProcess {
    return new LoadProcess(fork(SELF, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  }

  run(spec: LoadSpec): Promise<LoadSummary> {
    return new Promise<LoadSummary>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`load process exited with ${String(code)} before answering`));
      this.child.once('exit', onExit);
      this.child.once('message', (m: LoadReply) => {
        this.child.off('exit', onExit);
        if (m.ok) resolve(m.summary);
        else reject(new Error(`load: ${m.error}`));
      });
      this.child.send(spec);
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.disconnect();
    await exited;
  }
}

if (process.argv[1] && process.argv[1] === SELF && process.send) {
  // One load per message, one at a time; the parent disconnecting ends the process.
  process.on('message', (spec: LoadSpec) => {
    load(spec).then(
      (summary) => process.send!({ ok: true, summary } satisfies LoadReply),
      (err: unknown) => process.send!({ ok: false, error: err instanceof Error ? err.message : String(err) } satisfies LoadReply),
    );
  });
  process.on('disconnect', () => process.exit(0));
}
