/**
 * `serving` benchmark (issue 5): requests/s and p50/p99 latency of `POST /v2/models/m/infer`
 * with tracking on vs off. One serving process (`bench/lib/serving-target.ts`) runs one KServe V2
 * server whose tracker, publishing to a real stream (the embedded SQLite log, or NATS with
 * `--backend postgres+nats`), is turned on and off between load runs; the load comes from
 * autocannon in another process (`bench/lib/http-load.ts`), a fixed number of connections for a
 * fixed time per run, from one load process kept for the whole benchmark. Each round gives each side
 * `--duration` seconds as `--runs` runs (16 of 0.5 s by default), in pairs ordered ABBA: off, on, on,
 * off, off, on, on, off, … (the next round starts with on), so that a drift of the machine weighs the
 * same on both sides, and each side follows the other as often as it follows itself (work one run
 * leaves behind, such as the log's checkpoints or an old-generation GC, lands on both sides alike).
 * A side's figure for a round is its requests over its seconds in all its runs. The tracker is flushed after
 * each run (its CPU time counts for the 'on' side), outside the timed part: the writing of what the
 * run queued last (up to one flush interval, 100 ms of events, of the run's 500 ms) then does not
 * contend with the load, which flatters the 'on' side by a part of the writer thread's share (the
 * writer thread costs about 1 µs per event of the ~50 µs a request costs: at most a few tenths of
 * a percent of throughput).
 *
 * Headline: the median over rounds of (on req/s) / (off req/s) within each round, target ≥ 0.95.
 * The two sides of a round run interleaved on the same server, so each ratio compares them under
 * close machine conditions: on this 2-core virtual machine the CPU time a request takes moves by
 * 10–20% from one second to the next (55–73 µs measured within one benchmark). A/A checks (`--aa`,
 * tracking never on) measured what the design tells apart where it is nothing:
 * - two servers in one process, one tracking and one not, 4 runs of 2 s: rounds 0.85–1.10, and one
 *   benchmark's three rounds all at 1.07–1.10 (something of each server's own);
 * - one server, 4 runs of 2 s: rounds 0.92–1.05;
 * - one server, 16 runs of 0.5 s (the default): rounds 0.98–1.01, headlines 0.991 and 0.996.
 * The ratio of the medians is printed too, as is the p99 added by tracking (target ≤ 1 ms; a
 * round's p50 and p99 are the means of its runs').
 * Nothing is pinned to a core: on a 2-core machine the server and the load generator each take
 * about one core, so both sides see the same contention.
 *
 * Arguments: `--duration S` (per side per round, default 8), `--runs N` (runs per side per round, 16),
 * `--rounds N` (3), `--connections N` (32),
 * `--warmup S` (3), `--rows N` (rows per request, 1), `--features N` (4),
 * `--backend embedded|postgres+nats|…` (see bench/lib/backends.ts), `--profile [DIR]`
 * (run the serving process under `node --cpu-prof`, profile written to DIR at the end), `--aa` (an
 * A/A check: tracking is never turned on, so every ratio should be 1 and what it is not is the
 * benchmark's own noise; written to `serving.aa.json`).
 *
 * Also printed: `throughput_ratio_trend_adjusted`, the ratio with a steady drift of the machine
 * across the runs taken out (see {@link trendAdjustedRatio}).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TrackerStats } from '../src/tracking/tracker.ts';
import { backendName, openBenchBackend } from './lib/backends.ts';
import { LoadProcess, type LoadSummary } from './lib/http-load.ts';
import type { TargetCommand, TargetReply, TargetSample } from './lib/serving-target.ts';
import type { BenchArgs, BenchResult, Benchmark, Figure } from './main.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const TARGET = path.join(HERE, 'lib', 'serving-target.ts');

function whole(args: BenchArgs, key: string, dflt: number, min = 1): number {
  const v = args[key] === undefined ? dflt : Number(args[key]);
  if (!Number.isInteger(v) || v < min) throw new Error(`--${key} must be a whole number >= ${min}, got '${String(args[key])}'`);
  return v;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const r1 = (x: number): number => Math.round(x * 10) / 10;
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

/** The serving process: fork, wait for its URL, talk over IPC. */
class Target {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    readonly inferPath: string,
  ) {}

  static async start(args: string[], profileDir?: string): Promise<Target> {
    const execArgv = ['--import', 'tsx', ...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [])];
    const child = fork(TARGET, args, { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const ready = await Target.next(child);
    if (ready.cmd !== 'ready') {
      child.kill();
      throw new Error(`serving process failed to start: ${ready.cmd === 'error' ? ready.message : ready.cmd}`);
    }
    return new Target(child, ready.url, ready.inferPath);
  }

  private static next(child: ChildProcess): Promise<TargetReply> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`serving process exited (${String(code)})`));
      child.once('exit', onExit);
      child.once('message', (m: TargetReply) => {
        child.off('exit', onExit);
        resolve(m);
      });
    });
  }

  async flush(): Promise<TrackerStats> {
    const reply = Target.next(this.child);
    this.child.send({ cmd: 'flush' } satisfies TargetCommand);
    const m = await reply;
    if (m.cmd !== 'flushed') throw new Error(`tracker flush failed: ${m.cmd === 'error' ? m.message : m.cmd}`);
    return m.stats;
  }

  /** Turns the server's tracking on or off (it stays off in an A/A check). */
  async track(on: boolean): Promise<void> {
    const reply = Target.next(this.child);
    this.child.send({ cmd: 'track', on } satisfies TargetCommand);
    const m = await reply;
    if (m.cmd !== 'tracking') throw new Error(`turning tracking ${on ? 'on' : 'off'} failed: ${m.cmd === 'error' ? m.message : m.cmd}`);
  }

  async sample(): Promise<TargetSample> {
    const reply = Target.next(this.child);
    this.child.send({ cmd: 'sample' } satisfies TargetCommand);
    const m = await reply;
    if (m.cmd !== 'sampled') throw new Error(`sampling the serving process failed: ${m.cmd === 'error' ? m.message : m.cmd}`);
    return m.sample;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.send({ cmd: 'stop' } satisfies TargetCommand);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}

/** One load run with what the serving process spent on it. */
interface Run extends LoadSummary {
  /** Serving-process CPU (user + system) per successful request, tracker flush included. */
  cpuUsPerRequest: number;
  /** The main thread's part of it (Linux only). */
  mainUsPerRequest: number | undefined;
  server: TargetSample;
  stats: TrackerStats;
}

/**
 * The on/off throughput ratio with a steady drift of the machine taken out: least squares of
 * ln(req/s) on the run's place in the sequence and whether it tracked (`exp` of that coefficient).
 * Taken over every run; printed beside the headline (the median of the rounds' own ratios) to show
 * how much a drift through the whole benchmark weighs.
 */
function trendAdjustedRatio(runs: readonly { on: boolean; requestsPerS: number }[]): number {
  // Normal equations of y = b0 + b1·t + b2·x, solved by Cramer's rule (3×3).
  const rows = runs.map((r, t) => [1, t, r.on ? 1 : 0, Math.log(r.requestsPerS)] as const);
  const m = [0, 1, 2].map((i) => [0, 1, 2].map((j) => rows.reduce((a, r) => a + r[i]! * r[j]!, 0)));
  const v = [0, 1, 2].map((i) => rows.reduce((a, r) => a + r[i]! * r[3], 0));
  const det = (a: number[][]): number =>
    a[0]![0]! * (a[1]![1]! * a[2]![2]! - a[1]![2]! * a[2]![1]!) - a[0]![1]! * (a[1]![0]! * a[2]![2]! - a[1]![2]! * a[2]![0]!) + a[0]![2]! * (a[1]![0]! * a[2]![1]! - a[1]![1]! * a[2]![0]!);
  const d = det(m);
  if (Math.abs(d) < 1e-12) return Number.NaN; // fewer than two rounds: no trend to take out
  const withTracking = m.map((row, i) => row.map((x, j) => (j === 2 ? v[i]! : x)));
  return Math.exp(det(withTracking) / d);
}

/**
 * The runs of one side in a round as one: requests and seconds summed (so req/s over the whole
 * time), CPU per request over all their requests, latency percentiles the mean of the runs' own,
 * loop delay and GC as the runs' worst and sum, the tracker's counters of the last run.
 */
function combineRuns(runs: readonly Run[]): Run {
  const sum = (f: (r: Run) => number): number => runs.reduce((a, r) => a + f(r), 0);
  const mean = (f: (r: Run) => number): number => sum(f) / runs.length;
  const ok = sum((r) => r.ok);
  const seconds = sum((r) => r.seconds);
  const cpuMs = sum((r) => r.server.cpuUserMs + r.server.cpuSystemMs);
  const mainMs = runs.every((r) => r.server.mainThreadCpuMs !== undefined) ? sum((r) => r.server.mainThreadCpuMs!) : undefined;
  const server: TargetSample = {
    cpuUserMs: sum((r) => r.server.cpuUserMs),
    cpuSystemMs: sum((r) => r.server.cpuSystemMs),
    ...(mainMs !== undefined ? { mainThreadCpuMs: mainMs } : {}),
    loopDelayP99Ms: Math.max(...runs.map((r) => r.server.loopDelayP99Ms)),
    loopDelayMaxMs: Math.max(...runs.map((r) => r.server.loopDelayMaxMs)),
    gcMs: sum((r) => r.server.gcMs),
    gcMinor: sum((r) => r.server.gcMinor),
    gcMajor: sum((r) => r.server.gcMajor),
  };
  return {
    requests: sum((r) => r.requests),
    ok,
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    timeouts: sum((r) => r.timeouts),
    seconds,
    requestsPerS: ok / seconds,
    p50Ms: mean((r) => r.p50Ms),
    p90Ms: mean((r) => r.p90Ms),
    p99Ms: mean((r) => r.p99Ms),
    meanMs: sum((r) => r.meanMs * r.ok) / ok,
    cpuUsPerRequest: (cpuMs * 1000) / ok,
    mainUsPerRequest: mainMs === undefined ? undefined : (mainMs * 1000) / ok,
    server,
    stats: runs[runs.length - 1]!.stats,
  };
}

function requestBody(rows: number, features: number): string {
  const data = Array.from({ length: rows * features }, (_, i) => Math.round(((i * 7919) % 1000) / 10) / 10);
  return JSON.stringify({ inputs: [{ name: 'x', shape: [rows, features], datatype: 'FP64', data }] });
}

async function runBench(args: BenchArgs, log: (line: string) => void): Promise<BenchResult> {
  const duration = whole(args, 'duration', 8);
  const rounds = whole(args, 'rounds', 3);
  const runsPerSide = whole(args, 'runs', 16);
  const connections = whole(args, 'connections', 32);
  const warmup = whole(args, 'warmup', 3, 0);
  const rows = whole(args, 'rows', 1);
  const features = whole(args, 'features', 4);
  const backend = await openBenchBackend(backendName(args.backend), 'mw-bench-serving-');
  const figures: Record<string, Figure> = { backend: backend.describe, connections, duration_s: duration, runs_per_side_per_round: runsPerSide, rows_per_request: rows, features };
  const baseline: Record<string, Figure> = {};
  let target: Target | undefined;
  const loader = LoadProcess.start();
  try {
    const profile = args.profile === undefined ? undefined : path.resolve(args.profile === 'true' ? 'bench/results/serving-profile' : args.profile);
    if (profile) log(`profiling the serving process (node --cpu-prof) into ${profile}`);
    const aa = args.aa !== undefined;
    if (aa) log('A/A check: tracking is never turned on; the ratios measure what the benchmark itself tells apart (ideally 1)');
    figures.aa = aa ? 1 : 0;
    target = await Target.start(
      ['--home', backend.home, '--features', String(features), ...(backend.streamUrl ? ['--stream', backend.streamUrl] : []), ...(aa ? ['--untracked-on'] : [])],
      profile,
    );
    const t = target;
    const body = requestBody(rows, features);
    const spec = (base: string, durationS: number) => ({
      url: `${base}${t.inferPath}`,
      method: 'POST' as const,
      body,
      headers: { 'content-type': 'application/json' },
      connections,
      durationS,
    });
    /** One load run; the serving process's CPU time counts the tracker's flush of what the run queued. */
    const run = async (side: 'on' | 'off', durationS: number): Promise<Run> => {
      await t.track(side === 'on');
      await t.sample();
      const s = await loader.run(spec(t.url, durationS));
      const stats = await t.flush();
      const server = await t.sample();
      if (s.ok === 0 || s.non2xx > 0 || s.errors > 0) throw new Error(`tracking ${side}: ${s.ok} ok, ${s.non2xx} non-2xx, ${s.errors} errors`);
      const mainUsPerRequest = server.mainThreadCpuMs === undefined ? undefined : (server.mainThreadCpuMs * 1000) / s.ok;
      return { ...s, cpuUsPerRequest: ((server.cpuUserMs + server.cpuSystemMs) * 1000) / s.ok, mainUsPerRequest, server, stats };
    };

    if (warmup > 0) {
      log(`warm-up: ${warmup} s with tracking off, then on`);
      await run('off', warmup);
      await run('on', warmup);
    }
    const before = await t.flush();
    const on: Run[] = [];
    const off: Run[] = [];
    const runs: { on: boolean; requestsPerS: number }[] = [];
    for (let r = 1; r <= rounds; r++) {
      // Each side runs `runsPerSide` times per round, in pairs ordered ABBA (off, on, on, off, ...;
      // the next round on, off, off, on, ...): a drift of the machine weighs the same on both sides,
      // and each side follows the other as often as itself.
      const first: 'on' | 'off' = r % 2 === 1 ? 'off' : 'on';
      const second: 'on' | 'off' = first === 'on' ? 'off' : 'on';
      const order = Array.from({ length: runsPerSide }, (_, i) => (i % 2 === 0 ? [first, second] : [second, first])).flat();
      const runsOf: Record<'on' | 'off', Run[]> = { on: [], off: [] };
      for (const side of order) {
        const x = await run(side, duration / runsPerSide);
        runsOf[side].push(x);
        runs.push({ on: side === 'on', requestsPerS: x.requestsPerS });
      }
      for (const side of ['on', 'off'] as const) {
        const s = combineRuns(runsOf[side]);
        (side === 'on' ? on : off).push(s);
        figures[`round${r}_${side}_req_per_s`] = r1(s.requestsPerS);
        figures[`round${r}_${side}_p50_ms`] = r3(s.p50Ms);
        figures[`round${r}_${side}_p99_ms`] = r3(s.p99Ms);
        figures[`round${r}_${side}_server_cpu_us_per_req`] = r1(s.cpuUsPerRequest);
        if (s.mainUsPerRequest !== undefined) figures[`round${r}_${side}_main_thread_cpu_us_per_req`] = r1(s.mainUsPerRequest);
        figures[`round${r}_${side}_gc_us_per_req`] = r3((s.server.gcMs * 1000) / s.ok);
        log(
          `round ${r} tracking ${side.padEnd(3)}: ${r1(s.requestsPerS)} req/s (runs ${runsOf[side].map((h) => r1(h.requestsPerS)).join(', ')}), p50 ${r3(s.p50Ms)} ms, p99 ${r3(s.p99Ms)} ms; ` +
            `server ${r1(s.cpuUsPerRequest)} µs CPU/req${s.mainUsPerRequest === undefined ? '' : ` (main thread ${r1(s.mainUsPerRequest)})`} (GC ${r3((s.server.gcMs * 1000) / s.ok)} µs/req: ${s.server.gcMinor} minor, ${s.server.gcMajor} major), loop delay p99 ${r3(s.server.loopDelayP99Ms)} max ${r3(s.server.loopDelayMaxMs)} ms ` +
            `(tracker sent ${s.stats.sent}, dropped ${s.stats.dropped})`,
        );
      }
    }
    const after = await t.flush();

    const rpsOn = median(on.map((s) => s.requestsPerS));
    const rpsOff = median(off.map((s) => s.requestsPerS));
    const p99On = median(on.map((s) => s.p99Ms));
    const p99Off = median(off.map((s) => s.p99Ms));
    figures.on_req_per_s = r1(rpsOn);
    figures.on_p50_ms = r3(median(on.map((s) => s.p50Ms)));
    figures.on_p99_ms = r3(p99On);
    figures.p99_added_ms = r3(p99On - p99Off);
    figures.p50_added_ms = r3(median(on.map((s) => s.p50Ms)) - median(off.map((s) => s.p50Ms)));
    const paired = on.map((s, i) => s.requestsPerS / off[i]!.requestsPerS);
    paired.forEach((x, i) => (figures[`round${i + 1}_ratio_on_off`] = r3(x)));
    const ratio = median(paired);
    figures.throughput_ratio_on_off = r3(ratio);
    figures.throughput_ratio_of_medians = r3(rpsOn / rpsOff);
    figures.throughput_ratio_trend_adjusted = r3(trendAdjustedRatio(runs));
    const cpuOn = median(on.map((s) => s.cpuUsPerRequest));
    const cpuOff = median(off.map((s) => s.cpuUsPerRequest));
    figures.on_server_cpu_us_per_req = r1(cpuOn);
    figures.tracking_cpu_us_per_req = r1(cpuOn - cpuOff);
    if (on.every((s) => s.mainUsPerRequest !== undefined) && off.every((s) => s.mainUsPerRequest !== undefined)) {
      // What tracking costs the event loop that serves (the log's writer thread runs beside it).
      const mainOn = median(on.map((s) => s.mainUsPerRequest!));
      const mainOff = median(off.map((s) => s.mainUsPerRequest!));
      figures.on_main_thread_cpu_us_per_req = r1(mainOn);
      figures.tracking_main_thread_cpu_us_per_req = r1(mainOn - mainOff);
      baseline.off_main_thread_cpu_us_per_req = r1(mainOff);
    }
    figures.on_loop_delay_p99_ms = r3(median(on.map((s) => s.server.loopDelayP99Ms)));
    const tracked = on.reduce((a, s) => a + s.ok, 0);
    figures.events_tracked = tracked;
    figures.events_sent = after.sent - before.sent;
    figures.events_dropped = after.dropped - before.dropped;
    figures.publish_failures = after.failed - before.failed;
    baseline.off_req_per_s = r1(rpsOff);
    baseline.off_p50_ms = r3(median(off.map((s) => s.p50Ms)));
    baseline.off_p99_ms = r3(p99Off);
    baseline.off_server_cpu_us_per_req = r1(cpuOff);
    baseline.off_loop_delay_p99_ms = r3(median(off.map((s) => s.server.loopDelayP99Ms)));
    baseline.p99_added_target_ms = 1;
    if (figures.events_dropped !== 0) log(`warning: the tracker dropped ${String(figures.events_dropped)} events; the 'on' figures are flattered`);
    const streamFile = path.join(backend.home, 'stream.db');
    if (fs.existsSync(streamFile)) figures.stream_db_mb = r1(fs.statSync(streamFile).size / 1e6);
    return { figures, baseline, ratio: r3(ratio), target: 0.95, better: 'higher' };
  } finally {
    await loader.stop();
    await target?.stop();
    await backend.cleanup();
  }
}

/** The `serving` benchmark. */
export const bench: Benchmark = {
  name: 'serving',
  description: 'V2 infer req/s and p50/p99 with tracking on vs off (same serving process, autocannon load from another process)',
  run: runBench,
};
