/**
 * `memory` benchmark (issue 5):
 * (a) the RSS of the stream processor, in a child process of its own, while `--events`
 *     (1,000,000) inference events of 100 endpoints × 20 features pass through it; the parent
 *     publishes them to the project's stream (at most `--lag` events ahead of the processor)
 *     and reads the child's VmRSS from /proc every second. Figures: peak RSS (the kernel's VmHWM,
 *     read before the child stops; the peak of the samples beside it), RSS after warm-up
 *     and at the end, the slope of RSS over events after warm-up (MB per 100k events), events/s.
 * (b) a tracker under steady load (`--rate` events/s, default 5,000) whose stream is down for
 *     `--down-seconds` (30): every publish rejects (`--down-mode reject`, default) or hangs
 *     (`hang`). RSS each second, peak (the child's maxRSS, the kernel's VmHWM), largest queue, and the tracker's counters (dropped,
 *     failed, sent); around the outage: events dropped after the stream came back, drops beyond
 *     what the queue bound forces (tracked while down minus `maxQueue`), and the time from the
 *     stream coming back to the first publish going through.
 *
 * Arguments: `--backend sqlite+embedded|postgres+nats|mysql+nats`, `--events N`,
 * `--lag N` (50000), `--down-seconds N`, `--down-mode reject|hang`, `--rate N`,
 * `--skip-stream`, `--skip-tracker`.
 * Ratio: peak RSS of (a) in MB (absolute target 300 MB).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InferenceEvent } from '../src/common/types.ts';
import type { Platform } from '../src/project/platform.ts';
import { computeFeatureStats } from '../src/stats/feature-stats.ts';
import { topics } from '../src/stream/port.ts';
import type { TrackerStats } from '../src/tracking/tracker.ts';
import type { OutageReport } from './lib/memory-tracker-child.ts';
import { rng } from '../test/e2e/helpers.ts';
import { openBenchPlatform, parseBackend } from './lib/controller-platform.ts';
import type { BenchArgs, BenchResult, Benchmark, Figure } from './main.ts';
import { createMonitoredProject } from './lib/bench-project.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PROJECT = 'bench-memory';
const ENDPOINTS = 100;
const FEATURES = 20;
const r1 = (x: number): number => Math.round(x * 10) / 10;

function whole(args: BenchArgs, key: string, def: number, min = 1): number {
  const v = Number(args[key] ?? def);
  if (!Number.isInteger(v) || v < min) throw new Error(`--${key} must be a whole number >= ${min}; got '${args[key]}'`);
  return v;
}

/** Resident set size of a process in MB, from /proc/<pid>/status; undefined once it is gone. */
export function rssMb(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number | undefined {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+)\\s+kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += ((xs[i] as number) - mx) * ((ys[i] as number) - my);
    den += ((xs[i] as number) - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

function forkChild(script: string, argv: string[]): ChildProcess {
  return fork(path.join(HERE, 'lib', script), argv, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Logs 100 models with 20 features and reference stats, so the processor keeps histograms. */
async function logModels(platform: Platform): Promise<void> {
  const now = platform.clock.now();
  await createMonitoredProject(platform.store, { name: PROJECT, description: 'memory benchmark', now, maxWindowsPerTick: 12 });
  const g = rng(7);
  const featureNames = Array.from({ length: FEATURES }, (_, k) => `feature_${k}`);
  const cols: Record<string, number[]> = {};
  for (const [k, f] of featureNames.entries()) cols[f] = Array.from({ length: 2000 }, () => g.normal(k, 1));
  cols.prediction = Array.from({ length: 2000 }, () => (g.uniform() < 0.5 ? 1 : 0));
  const featureStats = computeFeatureStats(cols);
  for (let i = 0; i < ENDPOINTS; i++) {
    const key = `model-${i}`;
    await platform.store.putModel({
      project: PROJECT,
      key,
      tag: 'latest',
      uri: `store://models/${PROJECT}/${key}:latest`,
      modelFile: null,
      className: null,
      featureNames,
      labelNames: ['prediction'],
      featureStats,
      labels: {},
      createdAt: now,
    });
  }
}

async function streamPart(args: BenchArgs, log: (line: string) => void, figures: Record<string, Figure>): Promise<number> {
  const backend = parseBackend(args.backend);
  const events = whole(args, 'events', 1_000_000);
  const maxLag = whole(args, 'lag', 50_000);
  const bp = await openBenchPlatform(backend, Date.now());
  const { platform } = bp;
  let child: ChildProcess | undefined;
  try {
    await logModels(platform);
    const stream = await platform.streamFor(PROJECT);
    child = forkChild('memory-stream-child.ts', [bp.home, bp.urls.storeUrl, bp.urls.streamUrl, PROJECT]);
    const pid = child.pid as number;
    let processed = 0;
    let invalid = 0;
    child.on('message', (m: { processed: number; invalid: number }) => {
      processed = m.processed;
      invalid = m.invalid;
    });
    const samples: { t: number; processed: number; rss: number }[] = [];
    const t0 = performance.now();
    const sampler = setInterval(() => {
      const rss = rssMb(pid);
      if (rss !== undefined) samples.push({ t: (performance.now() - t0) / 1000, processed, rss });
    }, 1000);
    const lastLog = { at: 0 };
    const g = rng(11);
    const pool = Array.from({ length: 1000 }, () => Array.from({ length: FEATURES }, (_, k) => Math.round(g.normal(k, 1) * 1e4) / 1e4));
    log(`(a) publishing ${events} events to ${backend.split('+')[1]} while the stream processor (pid ${pid}) consumes them ...`);
    let published = 0;
    const batch = 1000;
    while (published < events) {
      if (child.exitCode !== null) throw new Error(`the stream processor exited with code ${child.exitCode}`);
      if (published - processed >= maxLag) {
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      const n = Math.min(batch, events - published);
      const when = new Date().toISOString();
      const messages = Array.from({ length: n }, (_, i) => {
        const seq = published + i;
        const ep = seq % ENDPOINTS;
        const e: InferenceEvent = {
          v: 1,
          endpointId: `bench-ep-${ep}`,
          project: PROJECT,
          function: 'serving',
          model: `model-${ep}`,
          modelUri: `store://models/${PROJECT}/model-${ep}:latest`,
          when,
          latencyUs: 900 + (seq % 300),
          request: { id: `req-${seq}`, inputs: [pool[seq % pool.length] as number[]] },
          response: { outputs: [seq % 2] },
        };
        return { key: e.endpointId, value: JSON.stringify(e) };
      });
      await stream.publish(topics.events(PROJECT), messages);
      published += n;
      const s = samples.at(-1);
      if (s && s.t - lastLog.at >= 10) {
        lastLog.at = s.t;
        log(`  ${Math.round(s.t)} s: published ${published}, processed ${s.processed}, RSS ${Math.round(s.rss)} MB`);
      }
    }
    while (processed < events) {
      if (child.exitCode !== null) throw new Error(`the stream processor exited with code ${child.exitCode}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    // The kernel's peak (VmHWM), read while the process lives: samples a second apart can miss it.
    const peak = rssMb(pid, 'VmHWM') ?? Number.NaN;
    child.kill('SIGTERM');
    await exited(child);
    child = undefined;
    if (invalid > 0) throw new Error(`${invalid} events were counted invalid`);

    const warmAt = Math.min(100_000, Math.round(events / 10));
    const after = samples.filter((s) => s.processed >= warmAt);
    const warm = after[0] ?? samples.at(-1);
    const end = samples.at(-1);
    const perHundredK = slope(after.map((s) => s.processed / 100_000), after.map((s) => s.rss));
    figures.stream_backend = backend;
    figures.stream_events = events;
    figures.stream_seconds = r1(seconds);
    figures.stream_events_per_s = Math.round(events / seconds);
    figures.stream_peak_rss_mb = r1(peak);
    figures.stream_sampled_peak_rss_mb = r1(Math.max(...samples.map((s) => s.rss)));
    figures.stream_rss_after_warmup_mb = r1(warm?.rss ?? Number.NaN);
    figures.stream_rss_at_end_mb = r1(end?.rss ?? Number.NaN);
    figures.stream_rss_slope_mb_per_100k_events = Math.round(perHundredK * 100) / 100;
    figures.stream_rss_samples = samples.length;
    log(`  done: ${figures.stream_events_per_s} events/s, peak RSS ${figures.stream_peak_rss_mb} MB, after warm-up ${figures.stream_rss_after_warmup_mb} MB, end ${figures.stream_rss_at_end_mb} MB, slope ${figures.stream_rss_slope_mb_per_100k_events} MB/100k`);
    return peak;
  } finally {
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await exited(child);
    }
    await bp.cleanup();
  }
}

async function trackerPart(args: BenchArgs, log: (line: string) => void, figures: Record<string, Figure>): Promise<void> {
  const backend = parseBackend(args.backend);
  const down = whole(args, 'down-seconds', 30, 0);
  const rate = whole(args, 'rate', 5000);
  const mode = args['down-mode'] ?? 'reject';
  if (mode !== 'reject' && mode !== 'hang') throw new Error(`--down-mode must be reject or hang; got '${mode}'`);
  const warm = 5;
  const after = 10;
  const maxQueue = 10_000;
  const bp = await openBenchPlatform(backend, Date.now());
  let child: ChildProcess | undefined;
  try {
    log(`(b) tracker at ${rate} events/s: ${warm} s up, ${down} s down (${mode}), ${after} s up, then close ...`);
    child = forkChild('memory-tracker-child.ts', [bp.home, bp.urls.streamUrl, String(rate), String(warm), String(down), String(after), mode, String(maxQueue)]);
    const pid = child.pid as number;
    let last: { phase: string; stats: TrackerStats; tracked: number; outage: OutageReport; peakMb: number } | undefined;
    let maxQueued = 0;
    let maxQueuedUp = 0;
    child.on('message', (m: { phase: string; stats: TrackerStats; tracked: number; outage: OutageReport; peakMb: number }) => {
      last = m;
      maxQueued = Math.max(maxQueued, m.stats.queued);
      if (m.phase === 'up') maxQueuedUp = Math.max(maxQueuedUp, m.stats.queued);
    });
    const rss: { phase: string; mb: number }[] = [];
    const sampler = setInterval(() => {
      const mb = rssMb(pid);
      if (mb !== undefined) rss.push({ phase: last?.phase ?? 'up', mb });
    }, 1000);
    const code = await exited(child);
    clearInterval(sampler);
    child = undefined;
    if (code !== 0) throw new Error(`the tracker child exited with code ${String(code)}`);
    if (!last) throw new Error('the tracker child reported nothing');
    const { stats } = last;
    const beforeDown = rss.filter((s) => s.phase === 'up').slice(0, warm);
    figures.tracker_rate_events_per_s = rate;
    figures.tracker_down_seconds = down;
    figures.tracker_down_mode = mode;
    figures.tracker_max_queue = maxQueue;
    figures.tracker_peak_rss_mb = r1(last.peakMb);
    figures.tracker_sampled_peak_rss_mb = r1(Math.max(...rss.map((s) => s.mb)));
    figures.tracker_rss_before_outage_mb = r1(Math.max(...beforeDown.map((s) => s.mb)));
    figures.tracker_rss_down_peak_mb = r1(Math.max(0, ...rss.filter((s) => s.phase === 'down').map((s) => s.mb)));
    figures.tracker_largest_queue = maxQueued;
    figures.tracker_tracked = last.tracked;
    figures.tracker_sent = stats.sent;
    figures.tracker_dropped = stats.dropped;
    figures.tracker_failed_publishes = stats.failed;
    figures.tracker_queued_at_end = stats.queued;
    const o = last.outage;
    if (o.trackedAtDown !== undefined && o.trackedAtUp !== undefined && o.droppedAtDown !== undefined && o.droppedAtUp !== undefined) {
      const trackedDown = o.trackedAtUp - o.trackedAtDown;
      figures.tracker_tracked_while_down = trackedDown;
      figures.tracker_dropped_while_down = o.droppedAtUp - o.droppedAtDown;
      // Only what exceeds the queue must be lost to an outage; the rest is lost to a slow recovery.
      figures.tracker_dropped_after_recovery = stats.dropped - o.droppedAtUp;
      figures.tracker_dropped_beyond_queue_bound = stats.dropped - o.droppedAtDown - Math.max(0, trackedDown - maxQueue);
      figures.tracker_recovery_ms = o.recoveryMs ?? 'no publish went through after the outage';
    }
    figures.tracker_accounted = stats.sent + stats.dropped + stats.queued === last.tracked ? 'every event sent or counted as dropped' : `${last.tracked - stats.sent - stats.dropped - stats.queued} events unaccounted (sent more than once counts extra)`;
    log(`  peak RSS ${figures.tracker_peak_rss_mb} MB, largest queue ${maxQueued} (max ${maxQueue}), dropped ${stats.dropped}, failed publishes ${stats.failed}, sent ${stats.sent} of ${last.tracked}`);
    log(`  outage: ${String(figures.tracker_tracked_while_down)} tracked while down, ${String(figures.tracker_dropped_after_recovery)} dropped after the stream came back, first publish ${String(figures.tracker_recovery_ms)} ms after it did`);
  } finally {
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await exited(child);
    }
    await bp.cleanup();
  }
}

async function runBench(args: BenchArgs, log: (line: string) => void): Promise<BenchResult> {
  const figures: Record<string, Figure> = {};
  let peak = Number.NaN;
  if (!args['skip-stream']) peak = await streamPart(args, log, figures);
  if (!args['skip-tracker']) await trackerPart(args, log, figures);
  return {
    figures,
    baseline: { target_peak_rss_mb: 300, peer_payload_logger_mb: 500, note: 'absolute target; the peer payload logger grows to 500 MiB when its sink stalls' },
    ratio: Number.isNaN(peak) ? -1 : r1(peak),
    target: 300,
    better: 'lower',
  };
}

/** The `memory` benchmark. */
export const bench: Benchmark = {
  name: 'memory',
  description: 'stream processor RSS over 1,000,000 events; tracker RSS and queue while its stream is down for 30 s under load',
  run: runBench,
};
