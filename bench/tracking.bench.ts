/**
 * `tracking` benchmark: what tracking one request costs the serving process, in CPU time per event,
 * without HTTP around it (the `serving` benchmark measures the whole request).
 *
 * - Tracking into the embedded log (the headline, an absolute target): `Tracker.trackRequest` for
 *   every request (what serving calls) and a flush every 5,000, into a fresh embedded SQLite log
 *   (copying the numbers, queueing, and on the log's writer thread encoding, packing and the SQLite
 *   writes; the process's CPU time counts every thread, and the main thread's own share is printed
 *   too, on Linux). The requests are tracked twice and the second pass is measured: the first
 *   carries one-off costs of a process's first minute (compiling the writer thread's code on V8's
 *   threads, growing the write-ahead file), about 1.5 µs more per event of 200,000 here, printed
 *   as `track_first_pass_us_per_event`. The requests' own making (`requests_alone_us_per_event`) is
 *   printed and left in. Target ≤ 2.75 µs per event: 5% of the ~55 µs of CPU a request cost the serving
 *   process on a slow day of this machine. The same with each event encoded at once on the main
 *   thread (`trackEncoded`, what serving did before) is printed beside it.
 * - Encoding: `EventEncoder.encode` against building the event object and `JSON.stringify`-ing it
 *   (`buildInferenceEvent`, the anchor), on the same requests, alternating 5 rounds; medians.
 * - The log's size: characters stored per event against the event's own length (what the events
 *   of one endpoint share is stored once per pack).
 *
 * Requests are the `serving` benchmark's: one row of 4 features and one output, from one endpoint
 * with a tag, a model URI and feature names. `--events N` (default 200000).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { openStream } from '../src/stream/connect.ts';
import { buildInferenceEvent, EventEncoder, type EndpointInfo, type EventArgs } from '../src/tracking/event.ts';
import { seededRandom } from '../src/tracking/seeded-random.ts';
import { Tracker } from '../src/tracking/tracker.ts';
import { mainThreadCpuMs } from './lib/thread-cpu.ts';
import type { BenchArgs, BenchResult, Benchmark, Figure } from './main.ts';

const ROUNDS = 5;
const FLUSH_EVERY = 5000;

const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** CPU microseconds (user + system, every thread of the process) per event of `fn`. */
async function cpuPerEvent(n: number, fn: () => void | Promise<void>): Promise<number> {
  const before = process.cpuUsage();
  await fn();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / n;
}

async function runBench(args: BenchArgs, log: (line: string) => void): Promise<BenchResult> {
  const n = args.events === undefined ? 200_000 : Number(args.events);
  if (!Number.isInteger(n) || n < FLUSH_EVERY) throw new Error(`--events must be a whole number >= ${FLUSH_EVERY}, got '${String(args.events)}'`);
  const endpoint: EndpointInfo = {
    endpointId: '62e475fd2bbf4c0d9a1e3b7c5d8f0a12',
    project: 'bench',
    function: 'serving',
    model: 'm',
    tag: 'latest',
    modelUri: 'store://models/bench/m:latest',
    featureNames: ['x0', 'x1', 'x2', 'x3'],
  };
  const u = seededRandom(5);
  const t0 = Date.now();
  // Kept as plain numbers so that the requests themselves cost the collector little.
  const values = Float64Array.from({ length: n * 4 }, () => Math.round(u() * 1e6) / 1e4);
  const args_ = (i: number): EventArgs => ({
    start: { ns: 0n, ms: t0 + i * 0.05 },
    latencyUs: 200 + (i % 800),
    requestId: `7f3c2a1e-0b4d-4e8f-9a6b-${String(i).padStart(12, '0')}`,
    inputs: [[values[i * 4]!, values[i * 4 + 1]!, values[i * 4 + 2]!, values[i * 4 + 3]!]],
    outputs: [values[i * 4]! * 0.5],
  });
  const encoder = new EventEncoder(endpoint);
  let sink = 0; // keeps the results alive to the optimiser

  const encode: number[] = [];
  const build: number[] = [];
  log(`encoding ${n} events, ${ROUNDS} rounds alternating with build + JSON.stringify ...`);
  for (let r = 0; r < ROUNDS; r++) {
    build.push(await cpuPerEvent(n, () => {
      for (let i = 0; i < n; i++) sink += JSON.stringify(buildInferenceEvent(endpoint, args_(i))).length;
    }));
    encode.push(await cpuPerEvent(n, () => {
      for (let i = 0; i < n; i++) sink += encoder.encode(args_(i)).length;
    }));
  }

  const figures: Record<string, Figure> = { events: n, features: 4 };
  /**
   * Tracks every request into a fresh embedded log twice: a first pass, in which the writer thread's
   * code is compiled and the log's write-ahead file grows to its working size, and a second, the
   * steady state of a serving process past its first minute, which is measured for the headline.
   * CPU per event (all threads, and the main thread's share) of each pass, characters stored per event.
   */
  const trackInto = async (how: 'request' | 'encoded'): Promise<{ first: number; us: number; mainUs: number | undefined; logChars: number }> => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-bench-tracking-'));
    try {
      const stream = await openStream('', { home });
      // Its writer thread running, as in a serving process past its first requests.
      await (stream as { writerThreadStarted?: () => Promise<boolean> }).writerThreadStarted?.();
      const tracker = new Tracker({ stream, topic: 'events.bench' });
      const pass = (): Promise<number> =>
        cpuPerEvent(n, async () => {
          for (let i = 0; i < n; i++) {
            const a = args_(i);
            if (how === 'request') tracker.trackRequest(encoder, a);
            else tracker.trackEncoded(endpoint.endpointId, false, () => encoder.encode(a));
            if ((i + 1) % FLUSH_EVERY === 0) await tracker.flush();
          }
          await tracker.flush();
        });
      const first = await pass();
      const mainBefore = mainThreadCpuMs();
      const us = await pass();
      const mainAfter = mainThreadCpuMs();
      const stats = tracker.stats();
      await tracker.close();
      await stream.close();
      if (stats.sent !== 2 * n || stats.dropped !== 0) throw new Error(`the tracker sent ${stats.sent} of ${2 * n} events (${stats.dropped} dropped)`);
      const db = new BetterSqlite3(path.join(home, 'stream.db'), { readonly: true });
      try {
        const stored = (db.prepare('SELECT SUM(LENGTH(value)) AS c FROM log').get() as { c: number }).c;
        const mainUs = mainBefore !== undefined && mainAfter !== undefined ? ((mainAfter - mainBefore) * 1000) / n : undefined;
        return { first, us, mainUs, logChars: stored / (2 * n) };
      } finally {
        db.close();
      }
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  };
  /** The requests alone, made and dropped: what the loops above spend besides tracking (all threads). */
  const harness = (): Promise<number> =>
    cpuPerEvent(n, () => {
      for (let i = 0; i < n; i++) sink += args_(i).latencyUs;
    });
  log(`tracking ${n} events into a fresh embedded log, twice, measuring the second pass: as numbers (trackRequest), then encoded at once (trackEncoded) ...`);
  const asNumbers = await trackInto('request');
  const asText = await trackInto('encoded');
  await harness();
  const requestsAlone = await harness();
  const eventChars = encoder.encode(args_(0)).length;
  figures.encode_us_per_event = r3(median(encode));
  figures.track_into_embedded_log_us_per_event = r3(asNumbers.us);
  figures.track_first_pass_us_per_event = r3(asNumbers.first);
  figures.requests_alone_us_per_event = r3(requestsAlone);
  // The event loop's share: the log's writer thread encodes, packs, appends and checkpoints beside it.
  if (asNumbers.mainUs !== undefined) figures.track_main_thread_us_per_event = r3(asNumbers.mainUs);
  figures.track_encoded_at_once_us_per_event = r3(asText.us);
  figures.track_encoded_at_once_first_pass_us_per_event = r3(asText.first);
  if (asText.mainUs !== undefined) figures.track_encoded_at_once_main_thread_us_per_event = r3(asText.mainUs);
  figures.event_chars = eventChars;
  figures.log_chars_per_event = r3(asNumbers.logChars);
  figures.log_vs_event_size = r3(asNumbers.logChars / eventChars);
  log(
    `  encode ${figures.encode_us_per_event} µs, build + stringify ${r3(median(build))} µs; tracked into the log ${figures.track_into_embedded_log_us_per_event} µs per event ` +
      `(main thread ${String(figures.track_main_thread_us_per_event)}), encoded at once ${figures.track_encoded_at_once_us_per_event} µs (main thread ${String(figures.track_encoded_at_once_main_thread_us_per_event)}); ` +
      `${figures.log_chars_per_event} of ${eventChars} characters stored per event (${sink > 0 ? 'ok' : ''})`,
  );
  figures.encode_vs_build_stringify = r3(median(encode) / median(build));
  const ratio = Number(figures.track_into_embedded_log_us_per_event);
  return { figures, baseline: { build_stringify_us_per_event: r3(median(build)), target_us_per_event: 2.75 }, ratio, target: 2.75, better: 'lower' };
}

/** The `tracking` benchmark. */
export const bench: Benchmark = {
  name: 'tracking',
  description: 'CPU per tracked event: EventEncoder vs build + JSON.stringify; tracking into the embedded log; log size per event',
  run: runBench,
};
