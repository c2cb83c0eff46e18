/**
 * `serving` benchmark (issue 24): what monitoring costs the service it watches, measured on the
 * deployments users run. Each arm is a fresh server process on a fresh temp home, started the way a
 * user starts it (no arm reuses a process or a home of another):
 * - `off`: `Modelwatch.open` (background workers, the default) with the serving function deployed,
 *   no tracking, monitoring not enabled;
 * - `tracking`: the same with `fn.setTracking()`: events go to the embedded stream, nothing reads it;
 * - `embedded`: the same with `project.enableModelMonitoring()` as well (1-minute windows, 5 s grace,
 *   the histogram drift app): the stream processor, writer, controller and app run in the serving process;
 * - `up`: `modelwatch up` (the CLI, from the sources through tsx) with its worker processes,
 *   monitoring enabled the same way, the serving function deployed through `connect()`.
 * Every arm serves the same logged model (a linear model of 4 features) and takes the same body
 * (one row). The embedded arms run in `bench/lib/serving-arm.ts`, forked.
 *
 * Arms alternate, off tracking embedded up, off tracking embedded up, …, `--runs` (3) of each. Per
 * arm and run, from another process: `--warmup` s (5) of wrk, then `--duration` s (10) of wrk
 * (`-t1 -c32 --latency`, a Lua script posting the body; autocannon where wrk is missing, and the
 * result says so): req/s, p50/p99 at saturation, and the CPU the server's whole process tree
 * (/proc utime + stime of the server and every process below it) spent between the load's start
 * and end over the requests answered; then `--open-duration` s (default `--duration`) of open-loop
 * load (`bench/lib/open-loop.ts`, after 2 s of it unmeasured) at half the `off` arm's req/s of the first run (`--rate` sets it):
 * p50/p99 from the intended send times. App results stored before and after the saturated run are
 * counted, which tells whether a window closed and the drift app ran while it was measured.
 *
 * Headline: the embedded arm's median req/s over the off arm's (target ≥ 0.85); the issue's other
 * targets are figures with MET / NOT MET. `--arms a,b,…` runs some arms only; `--aa` runs two off
 * arms against each other, the method's own noise (`serving.aa.json`); `--profile [DIR]` writes a
 * CPU profile of each embedded server process (`node --cpu-prof`, read with bench/lib/cpu-profile.ts);
 * `--align-window 0` skips the wait that puts a window's close inside each monitored arm's measured run.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type RemoteProject } from '../src/project/client.ts';
import { UpProcess } from '../test/soak/lib/up-process.ts';
import { LoadProcess } from './lib/http-load.ts';
import { runOpenLoop, type OpenLoopSummary } from './lib/open-loop.ts';
import { deployServing, FUNCTION, INFER_PATH, PROJECT, requestBody, writeModel, type Arm, type ArmCommand, type ArmReply } from './lib/serving-arm.ts';
import { treeCpu, treeCpuSince } from './lib/thread-cpu.ts';
import { findWrk, runWrk } from './lib/wrk-load.ts';
import type { BenchArgs, BenchResult, Benchmark, Figure } from './main.ts';
import { median, r1, r3, whole } from './lib/figures.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ARM_PROGRAM = path.join(HERE, 'lib', 'serving-arm.ts');
const ALL_ARMS: Arm[] = ['off', 'tracking', 'embedded', 'up'];

const met = (ok: boolean): string => (ok ? 'MET' : 'NOT MET');

/** A running server of one arm. */
interface ArmServer {
  address: string;
  /** Root of its process tree. */
  pid: number;
  /** App results stored so far. */
  results(): Promise<number>;
  stop(): Promise<void>;
}

/** An embedded arm: `bench/lib/serving-arm.ts` forked on a fresh home. */
async function startEmbedded(arm: Arm, dir: string, profileDir?: string): Promise<ArmServer> {
  const child: ChildProcess = fork(ARM_PROGRAM, ['--arm', arm, '--home', path.join(dir, 'home'), '--code', path.join(dir, 'code')], {
    cwd: dir,
    // tsx resolved here: the arm's working folder is its temp folder.
    execArgv: ['--import', import.meta.resolve('tsx'), ...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [])],
    env: { ...process.env, MODELWATCH_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = (): Promise<ArmReply> =>
    new Promise((resolve, reject) => {
      const onExit = (code: number | null): void => reject(new Error(`the ${arm} server exited (${String(code)})`));
      child.once('exit', onExit);
      child.once('message', (m: ArmReply) => {
        child.off('exit', onExit);
        resolve(m);
      });
    });
  const ready = await next();
  if (ready.cmd !== 'ready') {
    child.kill('SIGKILL');
    throw new Error(`the ${arm} server did not start: ${ready.cmd === 'error' ? ready.message : ready.cmd}`);
  }
  return {
    address: ready.address,
    pid: child.pid!,
    async results() {
      const reply = next();
      child.send({ cmd: 'results' } satisfies ArmCommand);
      const m = await reply;
      if (m.cmd !== 'results') throw new Error(`the ${arm} server did not count its results: ${m.cmd === 'error' ? m.message : m.cmd}`);
      return m.count;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.send({ cmd: 'stop' } satisfies ArmCommand);
      const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** The `up` arm: `modelwatch up` on a fresh home, the serving function deployed through `connect()`. */
async function startUp(dir: string, port: number): Promise<ArmServer> {
  const code = path.join(dir, 'code');
  const modelFile = writeModel(code);
  const up = await UpProcess.start(port, ['--home', path.join(dir, 'home'), '--code-root', code], { MODELWATCH_LOG_LEVEL: 'warn' }, dir);
  try {
    const project: RemoteProject = await connect({ url: up.url }).createProject(PROJECT);
    const address = await deployServing(project, 'up', modelFile);
    return { address, pid: up.pid, results: async () => (await project.listResults({ limit: 100_000 })).length, stop: () => up.stop() };
  } catch (err) {
    await up.stop();
    throw err;
  }
}

/** Monitoring's windows: a minute, closed 5 s after their end (`deployServing`). */
const WINDOW_MS = 60_000;
const GRACE_MS = 5_000;

/**
 * Waits until a warm-up of `warmupS` then a measured run of `durationS` puts a window's close (its
 * end plus the grace, plus the controller's 1 s idle tick) inside the measured run, with events of
 * the warm-up in that window.
 */
async function untilWindowClose(durationS: number, warmupS: number, log: (line: string) => void): Promise<void> {
  const offsetMs = Math.max(0, GRACE_MS + 1000 - (durationS * 1000) / 2);
  let boundary = Math.ceil(Date.now() / WINDOW_MS) * WINDOW_MS;
  while (boundary + offsetMs - warmupS * 1000 < Date.now() + 500) boundary += WINDOW_MS;
  const waitMs = boundary + offsetMs - warmupS * 1000 - Date.now();
  log(`waiting ${Math.round(waitMs / 1000)} s: the window ending ${new Date(boundary).toISOString().slice(11, 19)} closes within the measured run`);
  await new Promise((r) => setTimeout(r, waitMs));
}

/** The role of a process in a server's tree: `serving`, another worker's function name, or `main`. */
function role(cmdline: string): string {
  const m = / worker .*--function (\S+)/.exec(cmdline);
  return m ? (m[1] === FUNCTION ? 'serving' : m[1]!) : 'main';
}

/** What one saturated load run measured. */
interface Saturated {
  requests: number;
  requestsPerS: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU of the server's tree per request, and by process role (`up`). */
  cpuUsPerReq: number;
  cpuUsPerReqByRole: Record<string, number>;
}

/** One arm's run. */
interface ArmRun {
  saturated: Saturated;
  halfRate: OpenLoopSummary;
  halfRateCpuUsPerReq: number;
  resultsDuringRun: number;
}

async function runBench(args: BenchArgs, log: (line: string) => void): Promise<BenchResult> {
  const runs = whole(args, 'runs', 3);
  const duration = whole(args, 'duration', 10);
  const warmup = whole(args, 'warmup', 5, 0);
  const openDuration = whole(args, 'open-duration', duration);
  const connections = whole(args, 'connections', 32);
  const openConnections = whole(args, 'open-connections', 64);
  let port = whole(args, 'port', 15820);
  const aa = args.aa !== undefined;
  const profileDir = args.profile === undefined ? undefined : path.resolve(args.profile === 'true' ? 'serving-profiles' : args.profile);
  const alignWindow = whole(args, 'align-window', 1, 0) === 1;
  const arms: string[] = aa ? ['off', 'off-b'] : args.arms ? args.arms.split(',') : ALL_ARMS;
  for (const a of arms) if (!ALL_ARMS.includes(a as Arm) && a !== 'off-b') throw new Error(`unknown arm '${a}'; arms: ${ALL_ARMS.join(', ')}`);
  if (arms[0] !== 'off') throw new Error('the off arm comes first: the half rate is taken from it');
  const kind = (a: string): Arm => (a === 'off-b' ? 'off' : (a as Arm));

  const wrk = (args.load ?? 'auto') === 'autocannon' ? undefined : findWrk();
  if (args.load === 'wrk' && !wrk) throw new Error('wrk is not installed (apt-get install -y wrk)');
  if (!wrk) log('wrk not found: saturated runs use autocannon, which takes more of the machine per request');
  const loader = wrk ? undefined : LoadProcess.start();
  const body = requestBody();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-bench-serving-'));
  let rate = args.rate === undefined ? undefined : whole(args, 'rate', 1);
  const loadBefore = os.loadavg()[0]!;
  const results: Record<string, ArmRun[]> = Object.fromEntries(arms.map((a) => [a, []]));

  const saturate = async (server: ArmServer, durationS: number): Promise<Saturated> => {
    const spec = { url: `${server.address}${INFER_PATH}`, method: 'POST' as const, body, headers: { 'content-type': 'application/json' }, connections, durationS };
    const before = treeCpu(server.pid);
    const s = wrk ? await runWrk(wrk, spec, scratch) : await loader!.run(spec);
    const byRole = treeCpuSince(before, treeCpu(server.pid), role);
    const ok = wrk ? s.requests - (s as { non2xx: number }).non2xx : (s as { ok: number }).ok;
    if (ok === 0 || s.non2xx > 0 || s.errors > 0) throw new Error(`load on ${server.address}: ${ok} ok, ${s.non2xx} non-2xx, ${s.errors} errors`);
    const cpuMs = Object.values(byRole).reduce((a, x) => a + x, 0);
    return {
      requests: ok,
      requestsPerS: s.requestsPerS,
      p50Ms: s.p50Ms,
      p99Ms: s.p99Ms,
      cpuUsPerReq: (cpuMs * 1000) / ok,
      cpuUsPerReqByRole: Object.fromEntries(Object.entries(byRole).map(([k, v]) => [k, (v * 1000) / ok])),
    };
  };

  try {
    for (let run = 1; run <= runs; run++) {
      for (const arm of arms) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), `mw-bench-serving-${arm}-`));
        let server: ArmServer | undefined;
        try {
          server = kind(arm) === 'up' ? await startUp(dir, port++) : await startEmbedded(kind(arm), dir, profileDir && path.join(profileDir, `${arm}-run${run}`));
          if (alignWindow && (kind(arm) === 'embedded' || kind(arm) === 'up')) await untilWindowClose(duration, warmup, log);
          if (warmup > 0) await saturate(server, warmup);
          const resultsBefore = await server.results();
          const saturated = await saturate(server, duration);
          const resultsDuringRun = (await server.results()) - resultsBefore;
          rate ??= Math.max(1, Math.round(saturated.requestsPerS / 2));
          const origin = new URL(server.address).origin;
          const before = treeCpu(server.pid);
          const halfRate = await runOpenLoop({ origin, path: INFER_PATH, body, rate, durationS: openDuration, warmupS: 2, connections: openConnections });
          const halfCpuMs = Object.values(treeCpuSince(before, treeCpu(server.pid), role)).reduce((a, x) => a + x, 0);
          results[arm]!.push({ saturated, halfRate, halfRateCpuUsPerReq: (halfCpuMs * 1000) / Math.max(1, halfRate.ok), resultsDuringRun });
          const roles = Object.entries(saturated.cpuUsPerReqByRole);
          log(
            `run ${run} ${arm}: ${r1(saturated.requestsPerS)} req/s, ${r1(saturated.cpuUsPerReq)} µs CPU/req` +
              (roles.length > 1 ? ` (${roles.map(([k, v]) => `${k} ${r1(v)}`).join(', ')})` : '') +
              `, p50 ${r3(saturated.p50Ms)} p99 ${r3(saturated.p99Ms)} ms; at ${rate}/s open loop p50 ${r3(halfRate.p50Ms)} p99 ${r3(halfRate.p99Ms)} ms` +
              ` (${halfRate.failed} failed, ${halfRate.unanswered} unanswered, sender lag ≤ ${r1(halfRate.maxSendLagMs)} ms); app results during the run: ${resultsDuringRun}`,
          );
        } finally {
          await server?.stop();
          fs.rmSync(dir, { recursive: true, force: true });
        }
      }
    }
  } finally {
    await loader?.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  }

  const figures: Record<string, Figure> = {
    method: 'a fresh server process and home per arm and run, arms alternated; load from other processes',
    load_generator: wrk ? 'wrk -t1 --latency' : 'autocannon (wrk not installed)',
    connections,
    runs,
    duration_s: duration,
    warmup_s: warmup,
    half_rate_req_per_s: rate!,
    half_rate_duration_s: openDuration,
    half_rate_connections: openConnections,
    monitoring: 'basePeriod 1 min, grace 5 s, histogram-data-drift app (embedded and up arms)',
  };
  const baseline: Record<string, Figure> = {};
  const med = (arm: string, f: (r: ArmRun) => number): number => median(results[arm]!.map(f));
  for (const arm of arms) {
    const out = arm === 'off' ? baseline : figures;
    const rs = results[arm]!;
    out[`${arm}_req_per_s`] = r1(med(arm, (r) => r.saturated.requestsPerS));
    out[`${arm}_req_per_s_runs`] = rs.map((r) => Math.round(r.saturated.requestsPerS)).join(' / ');
    out[`${arm}_cpu_us_per_req`] = r1(med(arm, (r) => r.saturated.cpuUsPerReq));
    out[`${arm}_cpu_us_per_req_runs`] = rs.map((r) => r1(r.saturated.cpuUsPerReq)).join(' / ');
    out[`${arm}_p50_ms`] = r3(med(arm, (r) => r.saturated.p50Ms));
    out[`${arm}_p99_ms`] = r3(med(arm, (r) => r.saturated.p99Ms));
    out[`${arm}_half_rate_p50_ms`] = r3(med(arm, (r) => r.halfRate.p50Ms));
    out[`${arm}_half_rate_p99_ms`] = r3(med(arm, (r) => r.halfRate.p99Ms));
    out[`${arm}_half_rate_p99_ms_runs`] = rs.map((r) => r3(r.halfRate.p99Ms)).join(' / ');
    out[`${arm}_half_rate_cpu_us_per_req`] = r1(med(arm, (r) => r.halfRateCpuUsPerReq));
    out[`${arm}_app_results_during_saturated_runs`] = rs.map((r) => r.resultsDuringRun).join(' / ');
    if (arm !== 'off') {
      const offRuns = results.off!;
      out[`${arm}_ratio_to_off`] = r3((out[`${arm}_req_per_s`] as number) / (baseline.off_req_per_s as number));
      out[`${arm}_ratio_to_off_runs`] = rs.map((r, i) => r3(r.saturated.requestsPerS / offRuns[i]!.saturated.requestsPerS)).join(' / ');
      out[`${arm}_half_rate_p99_added_ms`] = r3((out[`${arm}_half_rate_p99_ms`] as number) - (baseline.off_half_rate_p99_ms as number));
    }
  }
  if (arms.includes('up')) {
    const byRole = (r: ArmRun, pick: (k: string) => boolean): number => Object.entries(r.saturated.cpuUsPerReqByRole).reduce((a, [k, v]) => a + (pick(k) ? v : 0), 0);
    figures.up_serving_worker_cpu_us_per_req = r1(med('up', (r) => byRole(r, (k) => k === 'serving')));
    figures.up_main_process_cpu_us_per_req = r1(med('up', (r) => byRole(r, (k) => k === 'main')));
    // Each request is one event (one row); the pipeline's workers are the processes other than `up` itself and the serving worker.
    figures.up_pipeline_workers_cpu_us_per_event = r1(med('up', (r) => byRole(r, (k) => k !== 'serving' && k !== 'main')));
  }
  const has = (a: string): boolean => arms.includes(a);
  if (has('tracking')) {
    figures.tracking_cpu_us_per_req_added = r1((figures.tracking_cpu_us_per_req as number) - (baseline.off_cpu_us_per_req as number));
    figures.target_tracking_adds_at_most_5_us = met((figures.tracking_cpu_us_per_req_added as number) <= 5);
    for (const a of ['embedded', 'up'].filter(has)) {
      figures[`${a}_pipeline_cpu_us_per_event_est`] = r1((figures[`${a}_cpu_us_per_req`] as number) - (figures.tracking_cpu_us_per_req as number));
      figures[`target_${a}_pipeline_at_most_12_us_per_event`] = met((figures[`${a}_pipeline_cpu_us_per_event_est`] as number) <= 12);
    }
  }
  if (has('embedded')) {
    const runRatios = String(figures.embedded_ratio_to_off_runs).split(' / ').map(Number);
    figures.target_embedded_median_at_least_0_85 = met((figures.embedded_ratio_to_off as number) >= 0.85);
    figures.target_embedded_no_run_below_0_75 = met(Math.min(...runRatios) >= 0.75);
  }
  if (has('up')) figures.target_up_at_least_0_85 = met((figures.up_ratio_to_off as number) >= 0.85);
  for (const a of ['tracking', 'embedded', 'up'].filter(has)) figures[`target_${a}_half_rate_p99_added_at_most_1_ms`] = met((figures[`${a}_half_rate_p99_added_ms`] as number) <= 1);
  figures.load_average_1m = `${r1(loadBefore)} before, ${r1(os.loadavg()[0]!)} after`;
  baseline.target_embedded_ratio = 0.85;

  const headlineArm = aa ? 'off-b' : has('embedded') ? 'embedded' : arms[arms.length - 1]!;
  const ratio = headlineArm === 'off' ? 1 : (figures[`${headlineArm}_ratio_to_off`] as number);
  return { figures, baseline, ratio, target: aa ? 1 : 0.85, better: 'higher' };
}

/** The `serving` benchmark. */
export const bench: Benchmark = {
  name: 'serving',
  description:
    'serving req/s, server-tree CPU per request and p50/p99 (saturated under wrk, and open loop at half the off capacity) of fresh server processes: off, tracking, embedded platform with monitoring, modelwatch up; arms alternated',
  run: runBench,
};
