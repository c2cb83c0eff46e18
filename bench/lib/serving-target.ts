/**
 * The serving process of the `serving` benchmark, forked by `bench/serving.bench.ts`: one Node
 * process running one KServe V2 server, built the way the serving worker builds it
 * (`src/project/serving-worker.ts`), with a tracker publishing to a real stream (the embedded SQLite
 * log by default) that the parent turns on and off between load runs. Tracking off, the server's
 * tracker hands nothing over (a call and a test per request, nanoseconds); on, every request is
 * tracked. The load comes from another process; tracking on and off are measured on this same
 * server. (With two servers in one process, one tracking and one not, the untracked servers of an
 * A/A check differed by up to 10% for a whole benchmark: something of each server's own, not of
 * tracking, that its ratio could not tell from tracking's cost.)
 *
 * Arguments: `--home DIR` (folder of the embedded stream), `--stream URL` (default the embedded
 * log `<home>/stream.db`), `--features N` (model width, default 4).
 * Messages from the parent: `{ cmd: 'flush' }` publishes what the tracker holds and answers
 * `{ cmd: 'flushed', stats }`; `{ cmd: 'track', on }` turns tracking on or off (never on with
 * `--untracked-on`, the A/A check) and answers `{ cmd: 'tracking', on }`; `{ cmd: 'sample' }` answers `{ cmd: 'sampled', sample }` (CPU time and
 * event-loop delay since the previous sample); `{ cmd: 'stop' }` closes everything and exits.
 * First message to the parent: `{ cmd: 'ready', url, inferPath }` with the server's base URL.
 */
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createLogger } from '../../src/common/logger.ts';
import { createServingServer, type ServingServer } from '../../src/serving/server.ts';
import { openStream } from '../../src/stream/connect.ts';
import { topics } from '../../src/stream/port.ts';
import { Tracker, type TrackerSink, type TrackerStats } from '../../src/tracking/tracker.ts';
import { LinearModel } from '../../test/fixtures/models/linear-model.ts';
import { mainThreadCpuMs } from './thread-cpu.ts';

/** What the parent sends. */
export type TargetCommand = { cmd: 'flush' } | { cmd: 'track'; on: boolean } | { cmd: 'sample' } | { cmd: 'stop' };
/** CPU time and event-loop delay of the serving process since the previous sample. */
export interface TargetSample {
  cpuUserMs: number;
  cpuSystemMs: number;
  /** CPU time of the main thread alone (the event loop that serves requests), where Linux tells it (/proc schedstat). */
  mainThreadCpuMs?: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** Time spent in garbage collection (pauses seen by the main thread) and how many collections, of each kind. */
  gcMs: number;
  gcMinor: number;
  gcMajor: number;
}
/** What the target sends back. */
export type TargetReply =
  | { cmd: 'ready'; url: string; inferPath: string }
  | { cmd: 'tracking'; on: boolean }
  | { cmd: 'flushed'; stats: TrackerStats }
  | { cmd: 'sampled'; sample: TargetSample }
  | { cmd: 'error'; message: string };

const BENCH_PROJECT = 'bench';
const BENCH_FUNCTION = 'serving';
const BENCH_MODEL = 'm';

function send(msg: TargetReply): void {
  process.send?.(msg);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { home: { type: 'string' }, stream: { type: 'string' }, features: { type: 'string' }, 'untracked-on': { type: 'boolean' } } });
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

  // Tracking on or off between runs; `--untracked-on` (the benchmark's A/A check): never on.
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

  let gc = { ms: 0, minor: 0, major: 0 };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gc.ms += e.duration;
      const kind = (e as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) gc.minor += 1;
      else gc.major += 1;
    }
  }).observe({ entryTypes: ['gc'] });
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  let cpu = process.cpuUsage();
  let mainCpu = mainThreadCpuMs();
  process.on('message', (msg: TargetCommand) => {
    if (msg.cmd === 'sample') {
      const used = process.cpuUsage(cpu);
      cpu = process.cpuUsage();
      const main = mainThreadCpuMs();
      const mainUsed = main !== undefined && mainCpu !== undefined ? main - mainCpu : undefined;
      mainCpu = main;
      send({ cmd: 'sampled', sample: { cpuUserMs: used.user / 1000, cpuSystemMs: used.system / 1000, mainThreadCpuMs: mainUsed, loopDelayP99Ms: loop.percentile(99) / 1e6, loopDelayMaxMs: loop.max / 1e6, gcMs: gc.ms, gcMinor: gc.minor, gcMajor: gc.major } });
      gc = { ms: 0, minor: 0, major: 0 };
      loop.reset();
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
