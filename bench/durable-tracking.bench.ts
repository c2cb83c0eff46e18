/**
 * `durable-tracking` benchmark: what `setTracking({ durable: true })` costs a serving function, the
 * way users run one: `modelwatch up` (the embedded default, or PostgreSQL + NATS with `--backend
 * postgres`), serving functions deployed through the SDK with tracking, and autocannon from another
 * process (`bench/lib/http-load.ts`). A durable request is answered once its event is in the stream:
 * the embedded log's writer thread has committed it, or NATS has acknowledged it. The tracker does
 * not wait for its flush interval then: a publish starts in the same turn of the event loop, and
 * requests that come while one is under way share the next (group commit), so a durable request
 * waits about one publish.
 *
 * Two serving functions run side by side, the same model, one with plain tracking and one with
 * durable tracking, each in its own worker process; only one is loaded at a time, the other idle.
 * After a warm-up of each (`--warmup` s, 2), `--pairs` (10) pairs of short runs (`--duration` s, 2)
 * alternate between them in ABBA order, with `--connections` (32) connections (throughput, and
 * latency under that load), then as many pairs with one connection (a request's own latency,
 * nothing queued). Adjacent runs see the same machine, which on a shared 2-core machine moves a lot
 * from one minute to the next: the headline is the median over pairs of durable/plain req/s at
 * `--connections`; latencies are medians over runs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect, type RemoteProject } from '../src/project/client.ts';
import { UpProcess } from '../test/soak/lib/up-process.ts';
import { backendName, openBenchBackend } from './lib/backends.ts';
import { LoadProcess, type LoadSummary } from './lib/http-load.ts';
import type { BenchArgs, BenchResult, Benchmark, Figure } from './main.ts';
import { median, r1, r3, whole } from './lib/figures.ts';

const MODEL = `export class LinearModel {
  predict(rows) { return rows.map((r) => r.reduce((a, x, i) => a + x / (i + 1), 0)); }
}
`;
const MODES = ['plain', 'durable'] as const;
type Mode = (typeof MODES)[number];


async function runBench(args: BenchArgs, log: (line: string) => void): Promise<BenchResult> {
  const duration = whole(args, 'duration', 2);
  const warmup = whole(args, 'warmup', 2, 0);
  const pairs = whole(args, 'pairs', 10);
  const connections = whole(args, 'connections', 32);
  const port = whole(args, 'port', 15790);
  const backend = await openBenchBackend(backendName(args.backend), 'mw-bench-durable-');
  const code = path.join(backend.home, 'code');
  fs.mkdirSync(code);
  fs.writeFileSync(path.join(code, 'linear-model.mjs'), MODEL);
  const loadBefore = os.loadavg()[0]!;
  const loader = LoadProcess.start();
  let up: UpProcess | undefined;
  try {
    up = await UpProcess.start(
      port,
      ['--home', path.join(backend.home, 'home'), '--code-root', code],
      {
        MODELWATCH_LOG_LEVEL: 'warn',
        ...(backend.storeUrl ? { MODELWATCH_STORE_URL: backend.storeUrl, MODELWATCH_TSDB_URL: backend.storeUrl } : {}),
        ...(backend.streamUrl ? { MODELWATCH_STREAM_URL: backend.streamUrl } : {}),
      },
      backend.home,
    );
    const project = await connect({ url: up.url }).createProject('bench');
    await project.enableModelMonitoring({ basePeriod: 10, deployHistogramDataDriftApp: false });
    const features = ['x0', 'x1', 'x2', 'x3'];
    const model = await project.logModel('linear', { trainingSet: Array.from({ length: 100 }, (_, i) => Object.fromEntries(features.map((f, j) => [f, (i * (j + 3)) % 17]))) });
    const body = JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP64', data: [1.5, 2.25, 3, 4.5] }] });
    const address: Record<Mode, string> = {
      plain: await deploy(project, 'plain', path.join(code, 'linear-model.mjs'), model.uri),
      durable: await deploy(project, 'durable', path.join(code, 'linear-model.mjs'), model.uri),
    };
    const run = async (mode: Mode, durationS: number, conns: number, what: string): Promise<LoadSummary> =>
      check(what, await loader.run({ url: `${address[mode]}/v2/models/linear/infer`, method: 'POST', body, headers: { 'content-type': 'application/json' }, connections: conns, durationS }));
    if (warmup > 0) for (const mode of MODES) await run(mode, warmup, connections, `${mode} warm-up`);

    const figures: Record<string, Figure> = { backend: backend.describe, connections, duration_s: duration, pairs };
    const baseline: Record<string, Figure> = {};
    let headline = Number.NaN;
    for (const conns of [connections, 1]) {
      const runs: Record<Mode, LoadSummary[]> = { plain: [], durable: [] };
      const ratios: number[] = [];
      for (let i = 1; i <= pairs; i++) {
        const order: Mode[] = i % 2 === 1 ? ['plain', 'durable'] : ['durable', 'plain'];
        for (const mode of order) runs[mode].push(await run(mode, duration, conns, `pair ${i} ${mode}, ${conns} connection(s)`));
        ratios.push(runs.durable.at(-1)!.requestsPerS / runs.plain.at(-1)!.requestsPerS);
        log(
          `${conns} connection(s), pair ${i}: ` +
            MODES.map((m) => `${m} ${r1(runs[m].at(-1)!.requestsPerS)} req/s p50 ${r3(runs[m].at(-1)!.p50Ms)} p99 ${r3(runs[m].at(-1)!.p99Ms)} ms`).join('; ') +
            `; ratio ${r3(ratios.at(-1)!)}`,
        );
      }
      const key = conns === 1 ? 'one_connection_' : '';
      for (const mode of MODES) {
        const out = mode === 'durable' ? figures : baseline;
        out[`${mode}_${key}req_per_s`] = r1(median(runs[mode].map((x) => x.requestsPerS)));
        out[`${mode}_${key}p50_ms`] = r3(median(runs[mode].map((x) => x.p50Ms)));
        out[`${mode}_${key}p99_ms`] = r3(median(runs[mode].map((x) => x.p99Ms)));
      }
      figures[`${key}throughput_ratio_pairs_median`] = r3(median(ratios));
      figures[`${key}p50_added_ms`] = r3((figures[`durable_${key}p50_ms`] as number) - (baseline[`plain_${key}p50_ms`] as number));
      figures[`${key}p99_added_ms`] = r3((figures[`durable_${key}p99_ms`] as number) - (baseline[`plain_${key}p99_ms`] as number));
      if (conns === connections) headline = median(ratios);
    }
    for (const mode of MODES) {
      const t = (await project.getFunction(`serving-${mode}`)).status.tracking;
      if (t) figures[`${mode}_tracker`] = `sent ${t.sent}, dropped ${t.dropped}, failed ${t.failed} (last heartbeat)`;
    }
    // The machine's load average says how much other work shared it (the figures move with it).
    figures.load_average_1m = `${r1(loadBefore)} before, ${r1(os.loadavg()[0]!)} after`;
    return { figures, baseline, ratio: r3(headline), target: 0.5, better: 'higher' };
  } finally {
    await loader.stop();
    await up?.stop();
    await backend.cleanup();
  }
}

/** Deploys the serving function of `mode` (`serving-plain`, `serving-durable`); returns its address once it answers. */
async function deploy(project: RemoteProject, mode: Mode, modelPath: string, modelUri: string): Promise<string> {
  const fn = await project.setFunction(`serving-${mode}`);
  fn.addModel('linear', { modelPath, className: 'LinearModel', modelUri }).setTracking({ durable: mode === 'durable' });
  const rec = await project.deployFunction(fn);
  const address = rec.status.address;
  if (!address) throw new Error(`the serving function reports no address: ${JSON.stringify(rec.status)}`);
  for (const until = Date.now() + 30_000; ; ) {
    const ok = await fetch(`${address}/v2/health/ready`).then((r) => r.ok, () => false);
    if (ok) return address;
    if (Date.now() > until) throw new Error(`the serving function did not answer at ${address}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function check(what: string, s: LoadSummary): LoadSummary {
  if (s.ok === 0 || s.non2xx > 0 || s.errors > 0) throw new Error(`${what}: ${s.ok} ok, ${s.non2xx} non-2xx, ${s.errors} errors`);
  return s;
}

/** The `durable-tracking` benchmark. */
export const bench: Benchmark = {
  name: 'durable-tracking',
  description: 'serving functions under modelwatch up with durable vs plain tracking: req/s, p50/p99 at 32 connections and at one (pairs of short runs in ABBA order, autocannon from another process)',
  run: runBench,
};
