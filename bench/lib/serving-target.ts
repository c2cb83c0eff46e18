/**
 * The serving process of the `serving` benchmark, forked by `bench/serving.bench.ts`: one Node
 * process running one KServe V2 server, built the way the serving worker builds it
 * (`src/project/serving-worker.ts`), with a tracker publishing to a real stream (the embedded SQLite
 * log by default) whose tracking the parent turns on and off: between load runs (`track`), or at
 * planned times during one load run (`phases`, what the benchmark measures with). Tracking off, the server's
 * tracker hands nothing over (a call and a test per request, nanoseconds); on, every request is
 * tracked. The load comes from another process; tracking on and off are measured on this same
 * server. (With two servers in one process, one tracking and one not, the untracked servers of an
 * A/A check differed by up to 10% for a whole benchmark: something of each server's own, not of
 * tracking, that its ratio could not tell from tracking's cost.)
 *
 * Arguments: `--home DIR` (folder of the embedded stream), `--stream URL` (default the embedded
 * log `<home>/stream.db`), `--features N` (model width, default 4), `--untracked-on` (the A/A
 * check: tracking is never turned on), `--switches FILE` (written at stop: every phase switch as
 * `[µs, side]`, `side` the one it begins, `null` once a round's phases are over; `µs` is
 * `process.hrtime` in microseconds, the clock of a `--cpu-prof` profile's sample times, so that
 * `bench/lib/cpu-profile.ts --split FILE` can tell the profile's on and off phases apart).
 * Messages from the parent: `{ cmd: 'flush' }` publishes what the tracker holds and answers
 * `{ cmd: 'flushed', stats }`; `{ cmd: 'track', on }` turns tracking on or off (never on with
 * `--untracked-on`) and answers `{ cmd: 'tracking', on }`;
 * `{ cmd: 'phases', startEpochMs, phaseMs, pattern }` runs the phases of one round (below) and
 * answers `{ cmd: 'phased', phases, loopDelay, endLateMs }`; `{ cmd: 'stop' }` closes everything and exits.
 * First message to the parent: `{ cmd: 'ready', url, inferPath }` with the server's base URL.
 *
 * Phases: phase `i` is planned to start at `startEpochMs + i·phaseMs` on the wall clock
 * (`performance.timeOrigin + performance.now()`, which the load process reads too). A timer per
 * boundary (set again if it fires early, so a switch is never early) sets tracking to `pattern[i]`
 * and takes a snapshot: when it ran, the server's request count, the process's CPU time, the main
 * thread's, and garbage collection so far. After the last phase tracking is off again and the reply
 * holds each phase's differences (`lateMs`: how late its switch ran). Tracking is off from the
 * command until phase 0. The event-loop delay of each side comes from a 1 ms interval timer whose
 * gaps go into the histogram of the current phase's side (`monitorEventLoopDelay` cannot be
 * switched on and off by phase: enabled again, it records the whole time it was off as one delay).
 */
import { writeFileSync } from 'node:fs';
import { constants, createHistogram, performance, PerformanceObserver, type RecordableHistogram } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createLogger } from '../../src/common/logger.ts';
import { createServingServer, type ServingServer } from '../../src/serving/server.ts';
import { openStream } from '../../src/stream/connect.ts';
import { topics } from '../../src/stream/port.ts';
import { Tracker, type TrackerSink, type TrackerStats } from '../../src/tracking/tracker.ts';
import { LinearModel } from '../../test/fixtures/models/linear-model.ts';
import { mainThreadCpuMs } from './thread-cpu.ts';

/** What the parent sends. */
export type TargetCommand =
  | { cmd: 'flush' }
  | { cmd: 'track'; on: boolean }
  | { cmd: 'phases'; startEpochMs: number; phaseMs: number; pattern: boolean[] }
  | { cmd: 'stop' };
/** What the serving process did in one phase of a `phases` command (differences over the phase). */
export interface PhaseSample {
  /** The planned side (`pattern[i]`), and whether tracking was on (never with `--untracked-on`). */
  on: boolean;
  tracking: boolean;
  /** How late the switch at the phase's start ran, against the plan (ms, >= 0). */
  lateMs: number;
  /** Requests the server took in (its own count, from switch to switch). */
  requests: number;
  /** Process CPU time (user + system, every thread). */
  cpuUs: number;
  /** The main thread's CPU time, where Linux tells it. */
  mainCpuUs?: number;
  gcMs: number;
  gcMinor: number;
  gcMajor: number;
}
/** Event-loop delay over all the phases of one side. */
export interface LoopDelay {
  p99Ms: number;
  maxMs: number;
}
/** What the target sends back. */
export type TargetReply =
  | { cmd: 'ready'; url: string; inferPath: string }
  | { cmd: 'tracking'; on: boolean }
  | { cmd: 'flushed'; stats: TrackerStats }
  | { cmd: 'phased'; phases: PhaseSample[]; loopDelay: { on: LoopDelay; off: LoopDelay }; endLateMs: number }
  | { cmd: 'error'; message: string };

const BENCH_PROJECT = 'bench';
const BENCH_FUNCTION = 'serving';
const BENCH_MODEL = 'm';

const epochNow = (): number => performance.timeOrigin + performance.now();

function send(msg: TargetReply): void {
  process.send?.(msg);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { home: { type: 'string' }, stream: { type: 'string' }, features: { type: 'string' }, 'untracked-on': { type: 'boolean' }, switches: { type: 'string' } } });
  if (!values.home) throw new Error('--home is required');
  const features = Number(values.features ?? 4);
  if (!Number.isInteger(features) || features < 1) throw new Error(`--features must be a whole number >= 1, got ${String(values.features)}`);

  const stream = await openStream(values.stream ?? '', { home: values.home });
  // The serving worker's logger (pino at the platform level); request logging is off there too.
  const logger = createLogger('modelwatch', process.env.MODELWATCH_LOG_LEVEL ?? 'warn');
  const tracker = new Tracker({ stream, topic: topics.events(BENCH_PROJECT), onError: (err) => logger.warn({ err: String(err) }, 'tracking could not publish') });
  const model = new LinearModel({ options: { weights: Array.from({ length: features }, (_, i) => 1 / (i + 1)) } });
  const featureNames = Array.from({ length: features }, (_, i) => `x${i}`);
  const served = [{ name: BENCH_MODEL, model, featureNames }];

  // Tracking on or off between runs or phases; `--untracked-on` (the benchmark's A/A check): never on.
  let tracking = false;
  const sink: TrackerSink = {
    track: (event) => {
      if (tracking) tracker.track(event);
    },
    trackRequest: (encoder, args) => {
      if (tracking) tracker.trackRequest(encoder, args);
    },
  };
  const server: ServingServer = createServingServer({ project: BENCH_PROJECT, functionName: BENCH_FUNCTION, models: served, tracker: sink, logger });
  await server.modelsLoaded();
  const url = await server.listen();

  // Garbage collection since the start: time in pauses seen by the main thread, and collections of each kind.
  const gc = { ms: 0, minor: 0, major: 0 };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gc.ms += e.duration;
      const kind = (e as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) gc.minor += 1;
      else gc.major += 1;
    }
  }).observe({ entryTypes: ['gc'] });

  /** What is counted at a phase boundary. */
  interface Snapshot {
    lateMs: number;
    requests: number;
    cpu: NodeJS.CpuUsage;
    mainMs: number | undefined;
    gcMs: number;
    gcMinor: number;
    gcMajor: number;
  }
  const snapshot = (lateMs: number): Snapshot => ({
    lateMs,
    requests: server.stats().requests,
    cpu: process.cpuUsage(),
    mainMs: mainThreadCpuMs(),
    gcMs: gc.ms,
    gcMinor: gc.minor,
    gcMajor: gc.major,
  });
  let phasing = false;
  const switches: [number, 'on' | 'off' | null][] = [];
  /** Runs the phases of one round (see the file's comment) and answers `phased`. */
  const runPhases = ({ startEpochMs, phaseMs, pattern }: { startEpochMs: number; phaseMs: number; pattern: boolean[] }): void => {
    if (phasing) {
      send({ cmd: 'error', message: 'phases asked for while phases run' });
      return;
    }
    phasing = true;
    tracking = false;
    const delay: Record<'on' | 'off', RecordableHistogram> = { on: createHistogram(), off: createHistogram() };
    let delaySide: 'on' | 'off' = pattern[0] ? 'on' : 'off';
    let lastTick = performance.now();
    let ticker: NodeJS.Timeout | undefined;
    const snaps: Snapshot[] = [];
    const planned = (i: number): number => startEpochMs + i * phaseMs;
    /** With `--switches`: the switch, in a CPU profile's clock, and the side it begins (`undefined`: phases over). */
    const markSwitch = (side: 'on' | 'off' | undefined): void => {
      if (values.switches) switches.push([Number(process.hrtime.bigint() / 1000n), side ?? null]);
    };
    const boundary = (i: number): void => {
      const now = epochNow();
      // Timers count from the loop's cached time, which can be behind: never switch early.
      if (now < planned(i)) {
        setTimeout(() => boundary(i), Math.max(1, Math.ceil(planned(i) - now)));
        return;
      }
      snaps.push(snapshot(now - planned(i)));
      if (i < pattern.length) {
        tracking = pattern[i]! && !values['untracked-on'];
        markSwitch(pattern[i] ? 'on' : 'off');
        delaySide = pattern[i] ? 'on' : 'off';
        if (i === 0) {
          lastTick = performance.now();
          ticker = setInterval(() => {
            const t = performance.now();
            delay[delaySide].record(Math.max(1, Math.round((t - lastTick) * 1e6)));
            lastTick = t;
          }, 1);
        }
        setTimeout(() => boundary(i + 1), Math.max(0, planned(i + 1) - epochNow()));
        return;
      }
      tracking = false;
      markSwitch(undefined);
      clearInterval(ticker);
      phasing = false;
      const phases: PhaseSample[] = pattern.map((on, k) => {
        const a = snaps[k]!;
        const b = snaps[k + 1]!;
        return {
          on,
          tracking: on && !values['untracked-on'],
          lateMs: a.lateMs,
          requests: b.requests - a.requests,
          cpuUs: b.cpu.user + b.cpu.system - a.cpu.user - a.cpu.system,
          ...(a.mainMs !== undefined && b.mainMs !== undefined ? { mainCpuUs: (b.mainMs - a.mainMs) * 1000 } : {}),
          gcMs: b.gcMs - a.gcMs,
          gcMinor: b.gcMinor - a.gcMinor,
          gcMajor: b.gcMajor - a.gcMajor,
        };
      });
      const side = (h: RecordableHistogram): LoopDelay => (h.count > 0 ? { p99Ms: h.percentile(99) / 1e6, maxMs: h.max / 1e6 } : { p99Ms: Number.NaN, maxMs: Number.NaN });
      send({ cmd: 'phased', phases, loopDelay: { on: side(delay.on), off: side(delay.off) }, endLateMs: snaps[pattern.length]!.lateMs });
    };
    setTimeout(() => boundary(0), Math.max(0, planned(0) - epochNow()));
  };

  process.on('message', (msg: TargetCommand) => {
    if (msg.cmd === 'phases') {
      runPhases(msg);
    } else if (msg.cmd === 'track') {
      tracking = msg.on && !values['untracked-on'];
      send({ cmd: 'tracking', on: tracking });
    } else if (msg.cmd === 'flush') {
      tracker.flush().then(
        () => send({ cmd: 'flushed', stats: tracker.stats() }),
        (err: unknown) => send({ cmd: 'error', message: String(err) }),
      );
    } else if (msg.cmd === 'stop') {
      void (async () => {
        if (values.switches) writeFileSync(values.switches, `${JSON.stringify(switches)}\n`);
        await server.close();
        await tracker.close();
        await stream.close();
        process.exit(0);
      })();
    }
  });
  // The parent going away must not leave a server behind.
  process.on('disconnect', () => process.exit(0));
  send({ cmd: 'ready', url, inferPath: `/v2/models/${BENCH_MODEL}/infer` });
}

main().catch((err: unknown) => {
  send({ cmd: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exit(1);
});
