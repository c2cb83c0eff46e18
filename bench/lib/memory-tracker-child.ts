/**
 * Child process of the `memory` benchmark, part (b): a {@link Tracker} under steady load whose
 * stream goes down for a while. Phases: `up` for WARM seconds, `down` for DOWN seconds (every
 * publish rejects, or with MODE `hang` never settles until the stream is back), `up` again for
 * AFTER seconds, then `close`. Reports `{ phase, stats, tracked, outage }` to the parent over IPC
 * every second and once more at the end; `outage` ({@link OutageReport}) says what the tracker had
 * tracked and dropped when the stream went down and came back, and how long after that its first
 * publish went through.
 *
 * `node --import tsx bench/lib/memory-tracker-child.ts HOME STREAM_URL RATE WARM DOWN AFTER MODE MAX_QUEUE`
 */
import { topics, type OutgoingMessage, type Stream } from '../../src/stream/port.ts';
import { openStream } from '../../src/stream/connect.ts';
import { Tracker } from '../../src/tracking/tracker.ts';
import type { EventBatch } from '../../src/tracking/event-batch.ts';
import { EventEncoder } from '../../src/tracking/event.ts';

const [home, streamUrl, rateArg, warmArg, downArg, afterArg, mode = 'reject', maxQueueArg = '10000'] = process.argv.slice(2);
const rate = Number(rateArg);
const [warm, down, after, maxQueue] = [Number(warmArg), Number(downArg), Number(afterArg), Number(maxQueueArg)];
if (!home || !streamUrl || !(rate > 0) || !(warm >= 0) || !(down >= 0) || !(after >= 0) || (mode !== 'reject' && mode !== 'hang')) {
  process.stderr.write('usage: memory-tracker-child.ts HOME STREAM_URL RATE WARM DOWN AFTER reject|hang [MAX_QUEUE]\n');
  process.exit(2);
}

const PROJECT = 'bench-tracker';
const stream = await openStream(streamUrl, { home });
let isDown = false;
let backUp: () => void = () => undefined;
let upAgain = Promise.resolve();
const outageGate = async (): Promise<void> => {
  if (isDown) {
    if (mode === 'reject') throw new Error('stream unreachable (benchmark outage)');
    await upAgain;
  }
};
/** The real stream, with an outage switch in front of it; requests go over as numbers where the stream takes them (the embedded log), as serving's do. */
const flaky: Pick<Stream, 'publish' | 'publishEvents'> = {
  publish: async (topic: string, messages: OutgoingMessage[]) => {
    await outageGate();
    return stream.publish(topic, messages);
  },
  ...(stream.publishEvents
    ? {
        publishEvents: async (topic: string, batch: EventBatch) => {
          await outageGate();
          return stream.publishEvents!(topic, batch);
        },
      }
    : {}),
};
const encoders = Array.from({ length: 100 }, (_, k) => new EventEncoder({ endpointId: `ep-${k}`, project: PROJECT, function: 'serving', model: `model-${k}` }));
const tracker = new Tracker({ stream: flaky, topic: topics.events(PROJECT), maxQueue, onError: () => undefined });

/** The tracker around the outage, for the parent's figures. */
export interface OutageReport {
  trackedAtDown?: number;
  droppedAtDown?: number;
  trackedAtUp?: number;
  droppedAtUp?: number;
  /** Milliseconds from the stream coming back to the tracker's first publish going through. */
  recoveryMs?: number;
}

let tracked = 0;
let phase = 'up';
const outage: OutageReport = {};
let upAt = 0;
let sentAtUp = 0;
const features = Array.from({ length: 20 }, (_, k) => k * 0.5);
const load = setInterval(() => {
  const n = Math.round(rate / 100);
  const now = Date.now();
  for (let i = 0; i < n; i++) {
    tracked++;
    tracker.trackRequest(encoders[tracked % 100]!, {
      start: { ns: 0n, ms: now },
      latencyUs: 1200,
      requestId: `req-${tracked}`,
      inputs: [features.map((f) => f + (tracked % 7))],
      outputs: [tracked % 2],
    });
  }
  if (outage.trackedAtUp !== undefined && outage.recoveryMs === undefined && tracker.stats().sent > sentAtUp) {
    outage.recoveryMs = Math.round(performance.now() - upAt);
  }
}, 10);
const report = (): void => {
  // maxRSS is the kernel's peak resident set (VmHWM), so the last report holds the true peak.
  if (process.connected) process.send?.({ phase, stats: tracker.stats(), tracked, outage, peakMb: process.resourceUsage().maxRSS / 1024 });
};
const ticker = setInterval(report, 1000);
const sleep = (s: number): Promise<void> => new Promise((r) => setTimeout(r, s * 1000));

await sleep(warm);
phase = 'down';
isDown = true;
outage.trackedAtDown = tracked;
outage.droppedAtDown = tracker.stats().dropped;
upAgain = new Promise<void>((r) => (backUp = r));
await sleep(down);
phase = 'up';
isDown = false;
backUp();
upAt = performance.now();
({ sent: sentAtUp, dropped: outage.droppedAtUp } = tracker.stats());
outage.trackedAtUp = tracked;
await sleep(after);
clearInterval(load);
phase = 'close';
await tracker.close({ timeoutMs: 30_000 });
clearInterval(ticker);
report();
await stream.close();
process.disconnect?.();
process.exit(0);
