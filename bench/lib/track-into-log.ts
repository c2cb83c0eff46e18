/**
 * Tracks N requests into a fresh embedded log, as serving does (`Tracker.trackRequest`, a flush
 * every 5,000), and prints the CPU time per event. Its use is `bench/count-instructions.sh`: run
 * under `perf stat` at two sizes, the difference of the instruction counts over the difference of
 * the events is what one tracked event costs every thread of the process (the event loop, the log's
 * writer thread, the collector's helpers), a figure that stays put where the machine's speed does
 * not (timings on this two-core virtual machine move by a third from one minute to the next).
 *
 * Usage: `node --import tsx bench/lib/track-into-log.ts N` (default 100000).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStream } from '../../src/stream/connect.ts';
import { EventEncoder } from '../../src/tracking/event.ts';
import { seededRandom } from '../../src/tracking/seeded-random.ts';
import { Tracker } from '../../src/tracking/tracker.ts';

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 100_000);
  if (!Number.isInteger(n) || n < 1) throw new Error(`the number of events must be a whole number >= 1, got '${process.argv[2]}'`);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-track-into-log-'));
  try {
    // The `serving` benchmark's requests: one row of 4 features and one output, a UUID per request.
    const featureNames = ['x0', 'x1', 'x2', 'x3'];
    const encoder = new EventEncoder({ endpointId: 'ep-bench', project: 'bench', function: 'serving', model: 'm', tag: 'latest', modelUri: 'store://models/bench/m:latest', featureNames });
    const u = seededRandom(3);
    const stream = await openStream('', { home });
    await (stream as { writerThreadStarted?: () => Promise<boolean> }).writerThreadStarted?.();
    const tracker = new Tracker({ stream, topic: 'events.bench' });
    const t0 = Date.now();
    const cpu = process.cpuUsage();
    for (let i = 0; i < n; i++) {
      const x = [Math.round(u() * 1e4) / 1e3, Math.round(u() * 1e4) / 1e3, u(), Math.round(u() * 100)];
      tracker.trackRequest(encoder, { start: { ns: 0n, ms: t0 + i * 0.02 }, latencyUs: 40 + (i % 60), requestId: crypto.randomUUID(), inputs: [x], outputs: [x[0]! * 0.3 + x[2]!], featureNames });
      if ((i + 1) % 5000 === 0) await tracker.flush();
    }
    await tracker.flush();
    const used = process.cpuUsage(cpu);
    const stats = tracker.stats();
    await tracker.close();
    await stream.close();
    if (stats.sent !== n) throw new Error(`the tracker sent ${stats.sent} of ${n} events`);
    console.log(`${n} events tracked into the embedded log: ${((used.user + used.system) / n).toFixed(2)} µs CPU per event (all threads)`);
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
