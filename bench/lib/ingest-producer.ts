/**
 * The `ingest` benchmark's producer process, standing in for a serving process: opens the stream,
 * builds the workload, says `ready`, and on `go` tracks every event through a {@link Tracker}
 * with default options, then reports its counters and CPU time and exits.
 *
 * Started by `bench/ingest.bench.ts` with `fork` and the arguments `STREAM_URL HOME EVENTS T0`.
 */
import { openStream } from '../../src/stream/connect.ts';
import { topics } from '../../src/stream/port.ts';
import { Tracker } from '../../src/tracking/tracker.ts';
import { IngestWorkload, PROJECT, trackAll } from './ingest-workload.ts';

/** Messages from the producer to the benchmark. */
export type ProducerMessage =
  | { type: 'ready' }
  | { type: 'done'; sent: number; dropped: number; failed: number; cpuSeconds: number; errors: string[] }
  | { type: 'error'; message: string };

async function main(): Promise<void> {
  const [url, home, events, t0] = process.argv.slice(2);
  if (!url || !home || !events || !t0) throw new Error('usage: ingest-producer STREAM_URL HOME EVENTS T0');
  const send = (m: ProducerMessage): void => void process.send?.(m);
  const stream = await openStream(url, { home });
  // Its writer thread running (embedded log), as in a serving process past its first requests.
  await (stream as { writerThreadStarted?: () => Promise<boolean> }).writerThreadStarted?.();
  const errors: string[] = [];
  const tracker = new Tracker({ stream, topic: topics.events(PROJECT), onError: (err) => errors.push(String(err)) });
  const w = new IngestWorkload(Number(events), Number(t0));
  await new Promise<void>((resolve) => {
    process.once('message', () => resolve());
    send({ type: 'ready' });
  });
  const cpu0 = process.cpuUsage();
  await trackAll(tracker, w);
  const cpu = process.cpuUsage(cpu0);
  const stats = tracker.stats();
  await tracker.close();
  await stream.close();
  send({ type: 'done', sent: stats.sent, dropped: stats.dropped, failed: stats.failed, cpuSeconds: (cpu.user + cpu.system) / 1e6, errors: errors.slice(0, 5) });
  process.disconnect?.();
}

main().catch((err: unknown) => {
  process.send?.({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies ProducerMessage);
  process.exitCode = 1;
  process.disconnect?.();
});
