/**
 * `controller` benchmark (issue 5): one controller tick over 1,000 endpoints × 1 window ×
 * 1,000 rows × 20 features with the built-in histogram-data-drift app and the writer — from
 * the tick that hands out the windows until every endpoint's results are stored.
 *
 * Setup (not timed): see `bench/lib/controller-fixture.ts`; then table statistics are brought
 * up to date (`VACUUM ANALYZE` / `ANALYZE`), as on a database that has been running a while. Timed, one stage after the other
 * so that each has its own figure: the controller tick (dispatches the window jobs), the app
 * runner (reads each window, runs the app in its thread, publishes to the writer) and the writer (stores
 * results, metrics, events and the endpoints' drift status).
 *
 * Arguments: `--backend sqlite+embedded|postgres+nats|mysql+nats` (default sqlite+embedded),
 * `--endpoints N` (1000), `--rows N` (1000), `--features N` (20), `--profile FILE` (CPU profile
 * of the timed section; summarise with `node --import tsx bench/lib/cpu-profile.ts FILE`).
 * Ratio: the measured seconds (absolute target: 5 s embedded, 10 s on a server backend).
 */
import { HISTOGRAM_DRIFT_APP } from '../src/common/names.ts';
import { startAppThread } from '../src/apps/app-host.ts';
import { DEFAULT_RUN_LIMITS } from '../src/apps/run-limits.ts';
import { ApplicationRunner } from '../src/apps/runner.ts';
import { Controller } from '../src/pipeline/controller/controller.ts';
import type { Worker } from '../src/pipeline/worker.ts';
import { Writer } from '../src/pipeline/writer/writer.ts';
import { buildControllerFixture } from './lib/controller-fixture.ts';
import { profiled } from './lib/controller-profile.ts';
import { openBenchPlatform, parseBackend } from './lib/controller-platform.ts';
import type { BenchArgs, BenchResult, Benchmark, Figure } from './main.ts';

const PROJECT = 'bench-controller';
const BASE_PERIOD_MINUTES = 10;
const WINDOW_START = Date.UTC(2026, 4, 1, 12, 0);

function whole(args: BenchArgs, key: string, def: number): number {
  const v = Number(args[key] ?? def);
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${key} must be a whole number >= 1; got '${args[key]}'`);
  return v;
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000;

/** Steps `worker` until `done()` holds; fails after `limitMs` of steps that found nothing. */
async function drive(worker: Worker, done: () => boolean, limitMs = 60_000): Promise<void> {
  let idleSince: number | undefined;
  while (!done()) {
    const n = await worker.step();
    if (n > 0) idleSince = undefined;
    else {
      idleSince ??= performance.now();
      if (performance.now() - idleSince > limitMs) throw new Error(`${worker.name} found nothing to do for ${limitMs} ms before finishing`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

async function runBench(args: BenchArgs, log: (line: string) => void): Promise<BenchResult> {
  const backend = parseBackend(args.backend);
  const endpoints = whole(args, 'endpoints', 1000);
  const rows = whole(args, 'rows', 1000);
  const features = whole(args, 'features', 20);
  const target = backend === 'sqlite+embedded' ? 5 : 10;
  const periodMs = BASE_PERIOD_MINUTES * 60_000;

  log(`backend ${backend}: setting up ${endpoints} endpoints × ${rows} rows × ${features} features ...`);
  const bp = await openBenchPlatform(backend, WINDOW_START);
  const { platform, clock } = bp;
  try {
    let t0 = performance.now();
    const ids = await buildControllerFixture(platform, { project: PROJECT, endpoints, features, rows, basePeriodMinutes: BASE_PERIOD_MINUTES, windowStart: WINDOW_START, log });
    await bp.analyze();
    const setupS = (performance.now() - t0) / 1000;
    log(`  setup ${r3(setupS)} s`);

    // The window has closed: end + grace (60 s) has passed.
    clock.set(WINDOW_START + periodMs + 61_000);
    const controller = new Controller(platform, PROJECT, { holder: 'bench' });
    // In its own thread, as deployed.
    const host = await startAppThread({ appName: HISTOGRAM_DRIFT_APP, source: { builtin: HISTOGRAM_DRIFT_APP }, options: {}, artifactPath: platform.options.artifactPath, logger: platform.logger, limits: DEFAULT_RUN_LIMITS });
    const runner = new ApplicationRunner(platform, PROJECT, HISTOGRAM_DRIFT_APP, host, { options: {} });
    const writer = new Writer(platform, PROJECT);
    // Subscriptions are opened before the clock starts (a running deployment has them open).
    await runner.step();
    await writer.step();

    const stages: Record<string, number> = {};
    let sent = 0;
    const total = await profiled(args.profile, async () => {
      const start = performance.now();
      t0 = start;
      sent = await controller.step();
      stages.controller = (performance.now() - t0) / 1000;
      if (sent !== endpoints) throw new Error(`the controller handed out ${sent} windows; expected ${endpoints}`);
      t0 = performance.now();
      await drive(runner, () => runner.runs >= sent);
      stages.runner = (performance.now() - t0) / 1000;
      t0 = performance.now();
      await drive(writer, () => writer.written >= sent);
      stages.writer = (performance.now() - t0) / 1000;
      return (performance.now() - start) / 1000;
    });

    // Check that the work was done: one general_drift result per endpoint, drift status on each.
    const tsdb = await platform.tsdbFor(PROJECT);
    const latest = await tsdb.latestResults(PROJECT, { app: HISTOGRAM_DRIFT_APP });
    const stored = new Set(latest.filter((r) => r.name === 'general_drift').map((r) => r.endpointId));
    const missing = ids.filter((id) => !stored.has(id));
    if (missing.length > 0) throw new Error(`${missing.length} endpoints have no general_drift result, e.g. ${missing[0]}`);
    const eps = await platform.store.listEndpoints(PROJECT);
    const statuses: Record<string, number> = {};
    for (const e of eps) statuses[e.driftStatus] = (statuses[e.driftStatus] ?? 0) + 1;
    if (statuses.unknown) throw new Error(`${statuses.unknown} endpoints still show drift status 'unknown'`);
    if (runner.failures > 0) throw new Error(`the app failed on ${runner.failures} windows`);

    await runner.close();
    await writer.close();
    await controller.close();
    log(`  tick ${r3(total)} s: controller ${r3(stages.controller!)} s, runner ${r3(stages.runner!)} s, writer ${r3(stages.writer!)} s`);
    const figures: Record<string, Figure> = {
      backend,
      endpoints,
      rows_per_window: rows,
      features,
      setup_s: r3(setupS),
      tick_s: r3(total),
      controller_s: r3(stages.controller!),
      runner_s: r3(stages.runner!),
      writer_s: r3(stages.writer!),
      windows_per_s: Math.round(sent / total),
      drift_status: Object.entries(statuses).map(([k, v]) => `${k} ${v}`).join(', '),
    };
    return {
      figures,
      baseline: { target_s: target, peer_first_s: 118, peer_later_s: 30, note: 'absolute target; peers: 118 s, later 30 s for 1,000 endpoints' },
      ratio: r3(total),
      target,
      better: 'lower',
    };
  } finally {
    await bp.cleanup();
  }
}

/** The `controller` benchmark. */
export const bench: Benchmark = {
  name: 'controller',
  description: 'one controller tick over 1,000 endpoints × 1 window × 1,000 rows × 20 features with the histogram-data-drift app and the writer',
  run: runBench,
};
