/**
 * `latency` benchmark (issue 5): time from sending an inference request to its prediction row
 * being queryable in the tsdb, p50/p99, under steady load. The platform runs embedded in this
 * process (`Modelwatch.open` with background workers: the serving function with tracking, the
 * stream processor, writer and controller with model monitoring enabled); the load comes from
 * another process (`bench/lib/latency-load.ts`) at a fixed rate, which samples one request in
 * `--sample-every` and looks the sampled ones up by request id every `--poll-ms`.
 *
 * Ratio: the measured p99 in seconds; baseline: the 2 s target (embedded), better lower.
 *
 * Arguments: `--rate N` requests/s (default 1000), `--duration S` (20), `--warmup S` (3),
 * `--connections N` (32), `--sample-every N` (50), `--poll-ms N` (10), `--drain S` (30),
 * `--backend embedded|postgres` (PostgreSQL store/tsdb and NATS JetStream instead of SQLite).
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { endpointId } from '../src/common/ids.ts';
import { createLogger } from '../src/common/logger.ts';
import { Modelwatch } from '../src/project/modelwatch.ts';
import { backendName, openBenchBackend } from './lib/backends.ts';
import { quantile } from './lib/http-load.ts';
import type { LatencyLoadResult, LatencyLoadSpec } from './lib/latency-load.ts';
import type { BenchArgs, BenchResult, Benchmark, Figure } from './main.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const LOADER = path.join(HERE, 'lib', 'latency-load.ts');
const MODEL = path.join(HERE, '..', 'test', 'fixtures', 'models', 'linear-model.ts');
const PROJECT = 'bench';
const FUNCTION = 'serving';
const MODEL_NAME = 'linear';
const FEATURES = 4;
const TARGET_S = 2;
/** Sampling interval of the event-loop delay histogram; figures are the delay beyond it. */
const LOOP_RESOLUTION_MS = 10;

function num(args: BenchArgs, key: string, dflt: number, min: number): number {
  const v = args[key] === undefined ? dflt : Number(args[key]);
  if (!Number.isFinite(v) || v < min) throw new Error(`--${key} must be a number >= ${min}, got '${String(args[key])}'`);
  return v;
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000;

/** Runs the load process once. */
async function load(spec: LatencyLoadSpec): Promise<LatencyLoadResult> {
  const child = fork(LOADER, [JSON.stringify(spec)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const reply = new Promise<LatencyLoadResult>((resolve, reject) => {
    child.once('message', (m: { ok: true; result: LatencyLoadResult } | { ok: false; error: string }) => (m.ok ? resolve(m.result) : reject(new Error(`load: ${m.error}`))));
    child.once('exit', (code) => reject(new Error(`load process exited with ${String(code)} before answering`)));
  });
  try {
    return await reply;
  } finally {
    if (child.exitCode === null) await once(child, 'exit');
  }
}

/** Seeded training rows for the logged model, so ingest keeps histograms on reference edges. */
function trainingSet(rows: number): Record<string, number>[] {
  let s = 12345;
  const u = (): number => ((s = (s * 1103515245 + 12345) >>> 0) / 4294967296);
  return Array.from({ length: rows }, () => {
    const x = Array.from({ length: FEATURES }, () => u() * 10);
    return { ...Object.fromEntries(x.map((v, i) => [`x${i}`, v])), y: x.reduce((a, v, i) => a + v / (i + 1), 0) };
  });
}

async function runBench(args: BenchArgs, log: (line: string) => void): Promise<BenchResult> {
  const rate = num(args, 'rate', 1000, 1);
  const duration = num(args, 'duration', 20, 1);
  const warmup = num(args, 'warmup', 3, 0);
  const connections = Math.round(num(args, 'connections', 32, 1));
  const sampleEvery = Math.round(num(args, 'sample-every', 50, 1));
  const pollMs = num(args, 'poll-ms', 10, 1);
  const drain = num(args, 'drain', 30, 1);
  const backend = await openBenchBackend(backendName(args.backend), 'mw-bench-latency-');
  let mw: Modelwatch | undefined;
  try {
    mw = await Modelwatch.open({
      home: backend.home,
      ...(backend.storeUrl ? { storeUrl: backend.storeUrl, tsdbUrl: backend.storeUrl } : {}),
      ...(backend.streamUrl ? { streamUrl: backend.streamUrl } : {}),
      background: true,
      logger: createLogger('modelwatch', process.env.MODELWATCH_LOG_LEVEL ?? 'warn'),
    });
    const project = await mw.createProject(PROJECT);
    const model = await project.logModel(MODEL_NAME, {
      model: { weights: Array.from({ length: FEATURES }, (_, i) => 1 / (i + 1)) },
      trainingSet: trainingSet(1000),
      labelColumn: 'y',
    });
    await project.enableModelMonitoring({ basePeriod: 10 });
    const fn = await project.setFunction(FUNCTION, { kind: 'serving' });
    fn.addModel(MODEL_NAME, { modelPath: MODEL, className: 'LinearModel', modelUri: model.uri });
    fn.setTracking();
    await project.deployFunction(fn);
    const address = (await project.getFunction(FUNCTION)).status.address;
    if (!address) throw new Error('the serving function reports no address');
    const tsdbUrl = mw.platform.options.tsdbUrl;
    const spec: LatencyLoadSpec = {
      url: address,
      inferPath: `/v2/models/${MODEL_NAME}/infer`,
      tsdbUrl,
      project: PROJECT,
      endpointId: endpointId({ project: PROJECT, function: FUNCTION, model: MODEL_NAME }),
      ratePerS: rate,
      durationS: duration,
      connections,
      sampleEvery,
      pollMs,
      drainS: drain,
      features: FEATURES,
    };
    if (warmup > 0) {
      log(`warm-up: ${warmup} s at ${rate} req/s`);
      await load({ ...spec, durationS: warmup });
    }
    log(`steady load: ${rate} req/s for ${duration} s from another process, 1 in ${sampleEvery} requests followed to the tsdb (${backend.describe})`);
    // Event-loop delay of this process (serving + tracker + workers) over the measured run: how
    // long a timer (or a request) waited behind synchronous work.
    const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
    loopDelay.enable();
    const r = await load(spec);
    loopDelay.disable();
    const seen = [...r.visibleS].sort((a, b) => a - b);
    if (seen.length === 0) throw new Error(`no sampled prediction became queryable within ${drain} s (${r.sampled} sampled)`);
    const p50 = quantile(seen, 0.5);
    // A sample never seen counts as slower than every one seen.
    const p99 = r.missing > 0 && r.missing >= 0.01 * r.sampled ? Number.POSITIVE_INFINITY : quantile([...seen, ...Array<number>(r.missing).fill(Number.POSITIVE_INFINITY)], 0.99);
    const figures: Record<string, Figure> = {
      backend: backend.describe,
      rate_target_per_s: rate,
      rate_achieved_per_s: Math.round(r.ok / r.seconds),
      duration_s: duration,
      requests_ok: r.ok,
      requests_failed: r.failed,
      http_p50_ms: r3(r.httpP50Ms),
      http_p99_ms: r3(r.httpP99Ms),
      sampled: r.sampled,
      sampled_missing: r.missing,
      visible_p50_s: r3(p50),
      visible_p99_s: Number.isFinite(p99) ? r3(p99) : 'not reached (samples missing)',
      visible_max_s: r3(seen[seen.length - 1] as number),
      polls: r.polls,
      poll_mean_ms: r3(r.pollMeanMs),
      loop_delay_p50_ms: r3(loopDelay.percentile(50) / 1e6 - LOOP_RESOLUTION_MS),
      loop_delay_p99_ms: r3(loopDelay.percentile(99) / 1e6 - LOOP_RESOLUTION_MS),
      loop_delay_max_ms: r3(loopDelay.max / 1e6 - LOOP_RESOLUTION_MS),
      load_loop_delay_p99_ms: r3(r.clientLoopDelayP99Ms),
      load_loop_delay_max_ms: r3(r.clientLoopDelayMaxMs),
    };
    log(`queryable after p50 ${r3(p50)} s, p99 ${Number.isFinite(p99) ? r3(p99) : 'n/a'} s (${seen.length} of ${r.sampled} samples seen); HTTP p99 ${r3(r.httpP99Ms)} ms; event-loop delay p99 ${figures.loop_delay_p99_ms} ms, max ${figures.loop_delay_max_ms} ms (load process: p99 ${figures.load_loop_delay_p99_ms} ms, max ${figures.load_loop_delay_max_ms} ms)`);
    return { figures, baseline: { target_p99_s: TARGET_S }, ratio: Number.isFinite(p99) ? r3(p99) : 1e9, target: TARGET_S, better: 'lower' };
  } finally {
    await mw?.close();
    await backend.cleanup();
  }
}

/** The `latency` benchmark. */
export const bench: Benchmark = {
  name: 'latency',
  description: 'request → prediction queryable in the tsdb, p50/p99 under steady load (embedded platform, load from another process)',
  run: runBench,
};
