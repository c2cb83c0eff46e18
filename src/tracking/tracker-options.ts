import { ValidationError } from '../common/errors.ts';
import { redactSecrets } from '../common/redact.ts';
import type { InferenceEvent } from '../common/types.ts';
import type { Stream } from '../stream/port.ts';

/** Options of the {@link Tracker} (all but `stream` and `topic` optional). */
export interface TrackerOptions {
  /** Where events go: `publish`, and `publishEvents` and `maxEventBytes` where the stream has them. */
  stream: Pick<Stream, 'publish' | 'publishEvents' | 'maxEventBytes'>;
  /** Topic for every event, or a function of the event (e.g. `topics.events(event.project)`). */
  topic: string | ((event: InferenceEvent) => string);
  /** Share of successful predictions sent, 0–100. Error events are always sent. @default 100 */
  samplingPercentage?: number;
  /** Most events held (queued plus being published). @default 10_000 */
  maxQueue?: number;
  /**
   * Most events per publish call. Each publish to the embedded log is one transaction on its writer
   * thread, with pages it rewrites every time (the table's last leaf, `sqlite_sequence`): in
   * publishes of 2,000 events, appending cost 0.33–0.35 µs of CPU per event, in publishes of 500,
   * 0.48–0.62 (200k serving events, in-process). @default 2000
   */
  batchSize?: number;
  /** How long an event may wait for a batch to fill: at 16k requests/s, batches of 1,600. @default 100 */
  flushIntervalMs?: number;
  /** A publish that has not settled by then counts as failed and is retried. @default 10_000 */
  publishTimeoutMs?: number;
  /** First retry delay after a failed publish; doubles per failure. @default 100 */
  retryInitialMs?: number;
  /**
   * Longest retry delay. Events tracked while the stream is down push the oldest out of a full
   * queue until a retry finds it back, so this bounds how long that goes on after it recovers.
   * @default 1000
   */
  retryMaxMs?: number;
  /** Random numbers in [0, 1) for sampling; pass `seededRandom(seed)` for reproducible tests. @default Math.random */
  random?: () => number;
  /** Told about every failed publish and every event that cannot be serialized. @default a rate-limited stderr line */
  onError?(err: unknown): void;
}

/** Options with defaults applied and checked. */
export type CompiledTrackerOptions = Readonly<Required<TrackerOptions>>;

function whole(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new ValidationError(`${name} must be a whole number >= ${min}, got ${String(value)}`);
  return value;
}

function defaultOnError(): (err: unknown) => void {
  let lastMs = 0;
  return (err) => {
    const now = Date.now();
    if (now - lastMs < 10_000) return; // a stream outage would otherwise print once per retry
    lastMs = now;
    process.stderr.write(`modelwatch tracking: ${redactSecrets(err instanceof Error ? err.message : String(err))}\n`);
  };
}

/** Applies defaults and validates; throws ValidationError naming the bad option. */
export function compileTrackerOptions(opts: TrackerOptions): CompiledTrackerOptions {
  if (typeof opts?.stream?.publish !== 'function') throw new ValidationError('stream must have a publish method');
  if (typeof opts.topic === 'string' ? opts.topic === '' : typeof opts.topic !== 'function') {
    throw new ValidationError('topic must be a non-empty string or a function of the event');
  }
  const sampling = opts.samplingPercentage ?? 100;
  if (typeof sampling !== 'number' || !Number.isFinite(sampling) || sampling < 0 || sampling > 100) {
    throw new ValidationError(`samplingPercentage must be between 0 and 100, got ${String(sampling)}`);
  }
  return Object.freeze({
    stream: opts.stream,
    topic: opts.topic,
    samplingPercentage: sampling,
    maxQueue: whole('maxQueue', opts.maxQueue ?? 10_000, 1),
    batchSize: whole('batchSize', opts.batchSize ?? 2000, 1),
    flushIntervalMs: whole('flushIntervalMs', opts.flushIntervalMs ?? 100, 0),
    publishTimeoutMs: whole('publishTimeoutMs', opts.publishTimeoutMs ?? 10_000, 1),
    retryInitialMs: whole('retryInitialMs', opts.retryInitialMs ?? 100, 0),
    retryMaxMs: whole('retryMaxMs', opts.retryMaxMs ?? 1000, 0),
    random: opts.random ?? Math.random,
    onError: opts.onError ?? defaultOnError(),
  });
}
