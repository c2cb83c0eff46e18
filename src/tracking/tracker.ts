import { EventTooLargeError, TrackingUnavailableError, errorMessage } from '../common/errors.ts';
import type { InferenceEvent } from '../common/types.ts';
import type { OutgoingMessage } from '../stream/port.ts';
import { buildInferenceEvent, type EventArgs, type EventEncoder } from './event.ts';
import { EventBatchBuilder, NumericEventStore, type StoreView } from './event-batch.ts';
import { EventQueue } from './event-queue.ts';
import { MAX_EVENT_BYTES, requestEvents, type RequestEvents } from './request-events.ts';
import { compileTrackerOptions, type CompiledTrackerOptions, type TrackerOptions } from './tracker-options.ts';

export type { TrackerOptions } from './tracker-options.ts';

/**
 * What serving and `trackedPredict` need of a tracker: `track`, and `trackRequest` or `trackEncoded`
 * when it has them; durable tracking needs `trackRequestDurable`.
 */
export type TrackerSink = Pick<Tracker, 'track'> & Partial<Pick<Tracker, 'trackEncoded' | 'trackRequest' | 'trackRequestDurable'>>;

/**
 * Tracks one request's event: handed over as the request's own values when the tracker takes them
 * (ours does), else encoded straight to JSON text when it takes that, else built as an object. A
 * tracker passed in by a caller might throw; a request never fails because of tracking.
 */
export function trackRequest(tracker: TrackerSink, encoder: EventEncoder, args: EventArgs): void {
  try {
    if (tracker.trackRequest) tracker.trackRequest(encoder, args);
    else if (tracker.trackEncoded) tracker.trackEncoded(encoder.endpoint.endpointId, args.error !== undefined, () => encoder.encode(args));
    else tracker.track(buildInferenceEvent(encoder.endpoint, args));
  } catch {
    // ignored on purpose
  }
}

/**
 * Counters of a {@link Tracker}. They count events: a request too large for one event is tracked
 * as several (see {@link Tracker.trackRequest}), each counted as sent or dropped on its own.
 */
export interface TrackerStats {
  /** Events published. */
  sent: number;
  /**
   * Events lost: queue full, not serializable, still queued at close, or refused by the stream as
   * larger than it ever takes (see {@link Tracker}); durable requests refused.
   */
  dropped: number;
  /**
   * Publish attempts that failed, or did not settle within `publishTimeoutMs`. A failed publish is
   * retried; one that timed out is not published again unless it then fails (it may still go through).
   */
  failed: number;
  /** Successful predictions left out by sampling. */
  sampledOut: number;
  /** Events held now: waiting plus being published. */
  queued: number;
}

/** How a durable event's promise is settled. */
interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

interface Entry {
  /** The event as tracked; absent when it came encoded (then `message` is set). */
  event?: InferenceEvent;
  /** Topic and message, computed once in the background and kept for retries. */
  topic?: string;
  message?: OutgoingMessage;
}

/**
 * A queued event: an entry, or the place of a request kept as numbers in the tracker's
 * {@link NumericEventStore} (a small integer, so that the queue holds no object for it).
 */
type Queued = Entry | number;

/**
 * Sends inference events to the stream off the request path. `track` only samples and
 * enqueues (O(1), synchronous, never throws); a background loop publishes in batches of
 * `batchSize` at least every `flushIntervalMs`, as messages keyed by endpoint id with the
 * event's JSON as value.
 *
 * The queue is bounded by `maxQueue` events. When it is full the OLDEST waiting event is
 * dropped (and counted) to make room: after an outage longer than the controller's grace,
 * old events would land in windows that have already closed, while new ones still count.
 * A failed publish goes back to the head of the queue and is retried with exponential backoff
 * (capped at `retryMaxMs`, 1 s by default) for as long as the tracker runs; a publish that times
 * out is retried too, so delivery is at least once. While the stream is failing, each retry is
 * a probe: it publishes only the oldest {@link PROBE_EVENTS} event(s), under a timeout of at most
 * {@link PROBE_TIMEOUT_MS}, so retrying often stays cheap for the tracker and for a recovering
 * stream. Once a probe goes through, full batches follow at once, so events tracked after the
 * stream is back are published within about one retry delay instead of being pushed out of the
 * full queue.
 *
 * A publish the stream refuses because messages are larger than it ever takes (it rejects with
 * {@link EventTooLargeError}, having stored the others) is no failure: those events are dropped
 * (counted, told to `onError` once per endpoint) and everything else goes on without delay.
 * Requests are split so that this does not happen (see {@link trackRequest}).
 */
export class Tracker {
  private readonly opts: CompiledTrackerOptions;
  private readonly pending = new EventQueue<Queued>();
  /**
   * Requests kept as numbers, for a stream that encodes them itself (`publishEvents`) and a topic
   * given as a string (a topic function is given the event). Where the tracker would encode them
   * anyway, it does so at once, as the numbers would cost a copy more.
   */
  private readonly numbers: NumericEventStore | undefined;
  private inflight = 0;
  private counters = { sent: 0, dropped: 0, failed: 0, sampledOut: 0 };
  private timer: NodeJS.Timeout | undefined;
  /** A publish planned for this turn of the event loop (durable events waiting). */
  private immediate: NodeJS.Immediate | undefined;
  private timerDueMs = 0;
  private draining: Promise<unknown> | undefined;
  private attempt = 0;
  /** Events per publish slice, adapted to the stream's synchronous cost. */
  private sliceSize: number;
  private syncMsPerEvent: number | undefined;
  /** No more track(); close() is flushing. */
  private closed = false;
  /** close() has finished; late publish failures drop instead of requeueing. */
  private finished = false;
  /**
   * Durable events (see {@link trackRequestDurable}) queued or being published, by their queue
   * entry (an object, or a place in the numbers store, unique while queued). Empty unless durable
   * tracking is used, so other events never look here.
   */
  private readonly waiters = new Map<Queued, Waiter>();
  /** The last publish error, told to durable requests refused while the stream is down. */
  private lastError: unknown;
  /** The last publish failed, and none has gone through since (set as it fails, before any retry is planned). */
  private failing = false;
  /** The largest event published whole: the stream's own limit where it is lower than ingest's. */
  private readonly maxEventBytes: number;
  /** Kinds of event too large, with their endpoint, already told to `onError` (once each, not per event). */
  private readonly toldTooLarge = new Set<string>();

  constructor(options: TrackerOptions) {
    this.opts = compileTrackerOptions(options);
    const streamMax = this.opts.stream.maxEventBytes;
    this.maxEventBytes = typeof streamMax === 'number' && streamMax > 0 ? Math.min(MAX_EVENT_BYTES, streamMax) : MAX_EVENT_BYTES;
    this.numbers = typeof this.opts.stream.publishEvents === 'function' && typeof this.opts.topic === 'string' ? new NumericEventStore(this.maxEventBytes) : undefined;
    this.sliceSize = Math.min(FIRST_SLICE, this.opts.batchSize);
  }

  /** Queues an event for sending. Synchronous; never throws; never waits for the stream. */
  track(event: InferenceEvent): void {
    try {
      if (this.admit(event.error !== undefined)) this.enqueue({ event });
    } catch (err) {
      // Only a malformed event gets here (e.g. null); it is lost, so it counts as dropped.
      this.counters.dropped += 1;
      this.report(err);
    }
  }

  /**
   * Queues an event that the caller encodes as JSON text (see `EventEncoder`): the same as
   * `track(event)` with `encode()` returning `JSON.stringify(event)`, without building the event
   * object. `encode` runs at once, only when the event is kept by sampling; when it throws, the
   * event is dropped and counted. Synchronous; never throws.
   */
  trackEncoded(endpointId: string, isError: boolean, encode: () => string): void {
    try {
      if (this.admit(isError)) this.enqueueEncoded(endpointId, encode);
    } catch (err) {
      this.counters.dropped += 1;
      this.report(err);
    }
  }

  /**
   * Queues the event of one request that `encoder` writes for `args` (the same as
   * `trackEncoded(endpointId, isError, () => encoder.encode(args))`). For a stream that encodes
   * events itself (`publishEvents`: the embedded log, on its writer thread, and NATS), a request whose inputs
   * and outputs are plain numbers, and whose event is surely small enough for one, is kept as those
   * numbers, copied now, and written as JSON text only there (see event-batch.ts); any other
   * request, and every request for other streams, is encoded now. A request whose text is too large
   * for one event (more than 1 MiB less 2 KiB, or the stream's `maxEventBytes` when lower, see
   * request-events.ts) is queued as several, its rows split in order, each piece with the request's
   * id, time, latency and names; sampling keeps or leaves out the request whole. Rows whose event
   * alone is still too large are not published: an error event of the request says so in their
   * place (told to `onError` once per endpoint). Synchronous; never throws.
   */
  trackRequest(encoder: EventEncoder, args: EventArgs): void {
    try {
      if (!this.admit(args.error !== undefined)) return;
      const place = this.numbers?.add(encoder, args);
      if (place !== undefined) {
        this.enqueue(place);
        return;
      }
      const events = this.encodedRequest(encoder, args);
      if (events === undefined) return;
      if (events.tooLarge) this.rowsTooLarge(encoder, events.tooLarge);
      for (const value of events.texts) this.enqueue({ message: { key: encoder.endpoint.endpointId, value } });
    } catch (err) {
      this.counters.dropped += 1;
      this.report(err);
    }
  }

  /**
   * `trackRequest` for durable tracking: resolves once the event is in the stream (the publish of
   * its batch went through), so that a request is answered only then. Batching still applies, but a
   * queued durable event does not wait for the flush interval: a publish starts at once, and events
   * that come while one is in flight go in the next, which starts as soon as it settles (group
   * commit), so a durable request waits about one publish, not a flush interval. Rejects with
   * {@link TrackingUnavailableError} when the event cannot be stored: its publish failed (it is not
   * retried then: the caller answers an error and the client may send the request again), the queue
   * was full, the tracker is closed, or the stream is down (after a failed publish, new durable
   * events are refused at once until a retry gets through, one of them at a time being let wait
   * for that retry). Such events count as dropped. A request left out by sampling resolves at once.
   * A request tracked as several events (see {@link trackRequest}) resolves once all of them are in
   * the stream, and rejects as soon as one of them is refused (its other pieces may be stored).
   * Rejects at once with {@link EventTooLargeError}, publishing nothing, when rows of the request
   * are too large for an event of their own (where `trackRequest` would publish an error event in
   * their place: the caller, answering an error, tracks one), and so when the stream refuses one of
   * its events as too large.
   */
  trackRequestDurable(encoder: EventEncoder, args: EventArgs): Promise<void> {
    try {
      if (this.closed) {
        this.counters.dropped += 1;
        return Promise.reject(new TrackingUnavailableError('tracking is closing; the event was not stored'));
      }
      if (!this.admit(args.error !== undefined)) return Promise.resolve();
      // The stream is failing and something already waits for the next retry: refuse now, not after it.
      if (this.failing && (this.pending.length > 0 || this.waiters.size > 0)) {
        this.counters.dropped += 1;
        return Promise.reject(this.unavailable('the stream is not taking events'));
      }
      const place = this.numbers?.add(encoder, args);
      let entries: Queued[] = [];
      if (place !== undefined) entries = [place];
      else {
        const events = this.encodedRequest(encoder, args);
        if (events === undefined) return Promise.reject(new TrackingUnavailableError('the event could not be encoded'));
        if (events.tooLarge) {
          this.counters.dropped += 1;
          this.tellTooLarge('rows', encoder.endpoint.endpointId, `rows too large for one event refused (durable tracking): ${events.tooLarge.error}`);
          return Promise.reject(new EventTooLargeError(events.tooLarge.error, { bytes: events.tooLarge.bytes, maxBytes: this.maxEventBytes }));
        }
        const key = encoder.endpoint.endpointId;
        entries = events.texts.map((value) => ({ message: { key, value } }));
      }
      const done = new Promise<void>((resolve, reject) => {
        let left = entries.length;
        const waiter: Waiter = { resolve: () => --left === 0 && resolve(), reject };
        for (const e of entries) this.waiters.set(e, waiter);
      });
      for (const e of entries) this.enqueue(e);
      return done;
    } catch (err) {
      this.counters.dropped += 1;
      this.report(err);
      return Promise.reject(new TrackingUnavailableError(`the event could not be tracked: ${errorMessage(err)}`, err));
    }
  }

  /**
   * Publishes everything queued now, without waiting for batch timers or retry delays.
   * Rejects with the stream's error if a publish fails (the events stay queued and the
   * background retry goes on). Under constant traffic it returns once the queue is empty.
   */
  async flush(): Promise<void> {
    this.clearTimer();
    for (;;) {
      if (this.draining) await this.draining;
      if (this.pending.length === 0) return;
      const err = await this.startDrain(true);
      if (err !== undefined) throw err;
    }
  }

  /**
   * Stops taking events, then keeps flushing (with backoff) for up to `timeoutMs`; events
   * still queued after that are dropped and counted. Never rejects.
   */
  async close(opts: { timeoutMs?: number } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.clearTimer();
    const deadline = Date.now() + (opts.timeoutMs ?? 5000);
    let attempt = 0;
    while (this.pending.length > 0 || this.inflight > 0) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      if (this.pending.length === 0 && !this.draining) {
        // Only publishes in doubt are left (see awaitInDoubt): wait for them to settle.
        await new Promise((resolve) => setTimeout(resolve, Math.min(50, left)));
        continue;
      }
      // Ref'd timers here: the caller awaits close at shutdown and the process must not exit under it.
      const ok = await withTimeout(this.flush(), left, 'close', true).then(() => true, () => false);
      if (ok) continue;
      attempt += 1;
      const wait = Math.min(this.backoffMs(attempt), deadline - Date.now());
      if (wait <= 0) break;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    this.finished = true;
    for (const [, w] of this.waiters) w.reject(new TrackingUnavailableError('tracking closed before the event was stored'));
    this.waiters.clear();
    this.counters.dropped += this.pending.clear();
  }

  /** Whether an event is taken: not after close, and not when sampled out (errors never are). */
  private admit(isError: boolean): boolean {
    if (this.closed) {
      this.counters.dropped += 1;
      return false;
    }
    const keep = isError || this.opts.samplingPercentage >= 100 || this.opts.random() * 100 < this.opts.samplingPercentage;
    if (!keep) this.counters.sampledOut += 1;
    return keep;
  }

  /** Encodes an event at once and queues it; one whose encoding throws is dropped and counted. */
  private enqueueEncoded(key: string, encode: () => string): void {
    let value: string;
    try {
      value = encode();
    } catch (err) {
      this.drop({ message: { key, value: '' } }, err);
      return;
    }
    this.enqueue({ message: { key, value } });
  }

  /**
   * A request's event(s), encoded at once: one, or several for a request too large for one (see
   * request-events.ts); undefined (dropped and counted) when its encoding throws.
   */
  private encodedRequest(encoder: EventEncoder, args: EventArgs): RequestEvents | undefined {
    try {
      return requestEvents(encoder, args, this.maxEventBytes);
    } catch (err) {
      this.drop({ message: { key: encoder.endpoint.endpointId, value: '' } }, err);
      return undefined;
    }
  }

  /** Rows of a request too large for an event of their own: an error event stands for them (else, when even that is too large, they are dropped). */
  private rowsTooLarge(encoder: EventEncoder, tooLarge: NonNullable<RequestEvents['tooLarge']>): void {
    if (!tooLarge.tracked) this.counters.dropped += 1;
    const what = tooLarge.tracked ? 'tracked as an error event' : 'dropped (even its error event is too large)';
    this.tellTooLarge('rows', encoder.endpoint.endpointId, `rows too large for one event ${what}: ${tooLarge.error}`);
  }

  /**
   * Tells `onError` about events of `endpoint` too large (an {@link EventTooLargeError}, so that it
   * is told apart from publish failures), once per kind and endpoint: a flood of them says it once.
   */
  private tellTooLarge(kind: 'rows' | 'stream', endpoint: string | undefined, message: string): void {
    const key = `${kind}\0${String(endpoint)}`;
    if (this.toldTooLarge.has(key) || this.toldTooLarge.size >= MAX_TOLD) return;
    this.toldTooLarge.add(key);
    this.report(new EventTooLargeError(`tracking of endpoint ${String(endpoint)}: ${message} (said once for this endpoint)`, { maxBytes: this.maxEventBytes }));
  }

  private enqueue(entry: Queued): void {
    if (this.pending.length + this.inflight >= this.opts.maxQueue) {
      this.counters.dropped += 1;
      // Only when the whole queue is one batch in flight is there nothing older to drop.
      const oldest = this.pending.shift();
      this.fail(oldest ?? entry, 'the tracking queue is full');
      this.release(oldest ?? entry);
      if (oldest === undefined) return;
    }
    this.pending.push(entry);
    // Durable events waiting: publish now (see trackRequestDurable).
    const full = this.pending.length >= this.opts.batchSize || this.waiters.size > 0;
    // A drain that runs, or a timer already set, picks this event up (in time: only a retry timer
    // is due later than a new flush interval, and that one is never cut short).
    if (!full && (this.draining || this.timer)) return;
    this.schedule(full ? 0 : this.opts.flushIntervalMs);
  }

  /** Lets go of a request's numbers once its event has been published or dropped. */
  private release(entry: Queued): void {
    if (typeof entry === 'number') this.numbers?.release(entry);
  }

  /** Current counters. */
  stats(): TrackerStats {
    return { ...this.counters, queued: this.pending.length + this.inflight };
  }

  private schedule(delayMs: number): void {
    if (this.closed || this.draining) return; // a running drain picks new events up
    const due = Date.now() + delayMs;
    if (this.timer) {
      if (this.attempt > 0 || due >= this.timerDueMs) return; // never cut a retry backoff short
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (delayMs === 0 && this.waiters.size > 0) {
      // A durable request waits: publish in this turn of the event loop, after the requests that
      // came in it (a timer of 0 would wait a millisecond, as long as the publish itself).
      this.immediate ??= setImmediate(() => {
        this.immediate = undefined;
        void this.startDrain(false);
      });
      return;
    }
    this.timerDueMs = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.startDrain(false);
    }, delayMs);
    this.unrefUnlessAwaited(this.timer);
  }

  /** A timer does not keep the process alive, unless a caller awaits a durable event it will publish. */
  private unrefUnlessAwaited(timer: NodeJS.Timeout): void {
    if (this.waiters.size === 0) timer.unref();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
  }

  /** Runs one drain; resolves to its error (or undefined), never rejects, then plans the next one. */
  private startDrain(force: boolean): Promise<unknown> {
    if (this.draining) return this.draining;
    const run = this.drain(force).then(
      () => {
        this.attempt = 0;
        return undefined;
      },
      (err: unknown) => {
        this.attempt += 1;
        return err ?? new Error('publish failed');
      },
    );
    const settled = run.then((err) => {
      this.draining = undefined;
      try {
        if (err !== undefined) {
          if (!this.closed) {
            this.clearTimer();
            this.timerDueMs = Date.now() + this.backoffMs(this.attempt);
            this.timer = setTimeout(() => {
              this.timer = undefined;
              void this.startDrain(false);
            }, this.timerDueMs - Date.now());
            this.unrefUnlessAwaited(this.timer);
          }
        } else if (this.pending.length > 0) {
          this.schedule(this.pending.length >= this.opts.batchSize || this.waiters.size > 0 ? 0 : this.opts.flushIntervalMs);
        }
      } catch (e) {
        this.report(e);
      }
      return err;
    });
    this.draining = settled;
    return settled;
  }

  // Full batches go out back to back; a partial one only first (its timer fired) or when forced.
  // After a failure the first publish is a probe of the oldest event(s); once it is through the
  // stream counts as up again and the rest follows without waiting.
  private async drain(force: boolean): Promise<void> {
    let first = true;
    // Durable events that came during a publish go in the next one at once (group commit).
    while (this.pending.length > 0 && (force || first || this.pending.length >= this.opts.batchSize || this.waiters.size > 0)) {
      if (!first) await yieldToEventLoop();
      const probe = first && this.attempt > 0;
      first = false;
      const batch = this.pending.take(probe ? Math.min(PROBE_EVENTS, this.opts.batchSize) : this.opts.batchSize);
      this.inflight += batch.length;
      try {
        await this.publishBatch(batch, probe ? Math.min(PROBE_TIMEOUT_MS, this.opts.publishTimeoutMs) : this.opts.publishTimeoutMs);
      } finally {
        this.inflight -= batch.length;
      }
      if (probe) {
        this.attempt = 0;
        first = !force; // the probe stood in for the first batch; a partial one may follow too
      }
    }
  }

  /**
   * Publishes a batch per topic, in slices serialized just before their publish, yielding to the
   * event loop between slices. The embedded stream writes synchronously, and a whole batch at
   * once would hold up the requests of a serving process for milliseconds; slices are sized so
   * that their synchronous work (serializing plus the stream's synchronous part) stays near
   * {@link SLICE_BUDGET_MS}. A stream that only queues (NATS, Kafka) has cheap synchronous parts, so
   * its slices grow to whole batches.
   */
  private async publishBatch(batch: Queued[], timeoutMs: number): Promise<void> {
    const byTopic = new Map<string, Queued[]>();
    // One topic for all (a topic given as a string): no need to look at each event.
    if (typeof this.opts.topic === 'string') byTopic.set(this.opts.topic, batch);
    else {
      const fn = this.opts.topic;
      for (const entry of batch) {
        // Requests are kept as numbers only for a topic given as a string.
        const topic = typeof entry !== 'number' && this.route(entry, fn) ? entry.topic! : undefined;
        if (topic === undefined) continue;
        const group = byTopic.get(topic);
        if (group) group.push(entry);
        else byTopic.set(topic, [entry]);
      }
    }
    // Slices are started one after the other and awaited together: a stream that queues (NATS,
    // Kafka) merges the calls still waiting for their acknowledgement into large messages, instead
    // of sending one small message per slice and waiting a round trip for each.
    const inFlight: Promise<void>[] = [];
    const failed: Queued[][] = [];
    const inDoubt: InDoubt[] = [];
    let firstError: unknown;
    let unstarted: Queued[] = [];
    const groups = [...byTopic];
    let first = true;
    outer: for (let g = 0; g < groups.length; g++) {
      const [topic, entries] = groups[g]!;
      for (let at = 0; at < entries.length; ) {
        if (!first) await yieldToEventLoop();
        first = false;
        if (failed.length > 0 || inDoubt.length > 0) {
          unstarted = [...entries.slice(at), ...groups.slice(g + 1).flatMap(([, e]) => e)];
          break outer;
        }
        const slice = entries.slice(at, at + this.sliceSize);
        at += slice.length;
        const t0 = performance.now();
        // Requests kept as numbers go out where they lie in the store when they can (see `views`).
        const views = this.numbers && slice.every((e) => typeof e === 'number') ? this.numbers.views(slice as number[]) : undefined;
        const ready = views ? slice : slice.filter((e) => this.serialize(e));
        if (ready.length === 0) continue;
        const publish = settles(() => (views ? this.publishViews(topic, views) : this.publishSlice(topic, ready)));
        this.adaptSlice(ready.length, performance.now() - t0);
        inFlight.push(
          withTimeout(publish, timeoutMs, `publish to '${topic}'`).then(
            () => this.published(ready, views),
            (err: unknown) => {
              const refused = refusedAsTooLarge(err, ready.length);
              if (refused) return this.publishedBut(ready, refused, err);
              this.counters.failed += 1;
              this.report(err);
              if (err instanceof PublishTimeout) inDoubt.push({ publish, ready, views });
              else failed.push(ready);
              firstError ??= err;
            },
          ),
        );
      }
    }
    await Promise.all(inFlight);
    if (failed.length > 0 || inDoubt.length > 0) {
      this.lastError = firstError;
      this.failing = true;
      for (const d of inDoubt) this.awaitInDoubt(d, firstError);
      this.requeue(this.refuseDurable([...failed.flat(), ...unstarted], firstError));
      throw firstError;
    }
  }

  /**
   * A publish the stream refused in part, as events larger than it ever takes (`refused`, places in
   * `ready`): the others are stored, those dropped (durable ones refused), none retried.
   */
  private publishedBut(ready: Queued[], refused: ReadonlySet<number>, err: unknown): void {
    const lost = ready.filter((_, i) => refused.has(i));
    for (const e of lost) {
      this.counters.dropped += 1;
      const endpoint = this.endpointOf(e);
      const why = `the stream takes no event this large: ${errorMessage(err)}`;
      this.tellTooLarge('stream', endpoint, `events dropped: ${why}`);
      const w = this.waiters.get(e);
      if (w) {
        this.waiters.delete(e);
        w.reject(new EventTooLargeError(`tracking could not store the event: ${why}`, { maxBytes: this.maxEventBytes }));
      }
      this.release(e);
    }
    this.published(
      ready.filter((_, i) => !refused.has(i)),
      undefined,
    );
  }

  /** Events whose publish went through: counted, durable ones answered, their numbers let go. */
  private published(ready: Queued[], views: StoreView[] | undefined): void {
    this.counters.sent += ready.length;
    this.failing = false;
    // Before the release: a released place may be taken by a new event.
    if (this.waiters.size > 0) this.stored(ready);
    if (views) for (const v of views) this.numbers!.releaseView(v);
    else for (const e of ready) this.release(e);
  }

  /**
   * A publish that did not settle in time may still go through: NATS, for one, keeps retrying it
   * through a reconnect. Its events are not published again while it may, so that the stream holds
   * each of them once: they stay held (counted in `queued`) until it settles, and are then counted
   * as sent, or queued again if it failed. Durable requests among them are answered now (refused);
   * as a client may send those again, they are let go (dropped) if the publish fails.
   */
  private awaitInDoubt(d: InDoubt, err: unknown): void {
    // Still held after the drain that started them lets go of its batch.
    this.inflight += d.ready.length;
    const answered = new Set<Queued>();
    for (const e of d.ready) {
      if (!this.waiters.has(e)) continue;
      this.fail(e, `its publish did not finish in time (${errorMessage(err)}); it may still be stored`);
      answered.add(e);
    }
    d.publish.then(
      () => {
        this.inflight -= d.ready.length;
        this.published(d.ready, d.views);
      },
      (late: unknown) => {
        const refused = refusedAsTooLarge(late, d.ready.length);
        if (refused) {
          this.inflight -= d.ready.length;
          this.publishedBut(d.ready, refused, late);
          return;
        }
        this.report(late);
        const retry = d.ready.filter((e) => !answered.has(e));
        for (const e of answered) {
          this.counters.dropped += 1;
          this.release(e);
        }
        this.inflight -= answered.size;
        this.requeue(retry);
        this.inflight -= retry.length;
        if (this.pending.length > 0) this.schedule(0);
      },
    );
  }

  /**
   * Publishes batches of the store's events in place, in order, each handed back to the store once
   * its own publish has settled (a publish that timed out may still be reading the numbers). Events
   * refused as too large (see {@link refusedAsTooLarge}) are named by their places among all the
   * views' events, which follow one another.
   */
  private publishViews(topic: string, views: StoreView[]): Promise<void> {
    const store = this.numbers!;
    const publishEvents = this.opts.stream.publishEvents!.bind(this.opts.stream);
    const all = views.map((v) => {
      const p = settles(() => publishEvents(topic, v.batch));
      const settled = () => store.settled(v);
      p.then(settled, settled);
      return p;
    });
    if (all.length === 1) return all[0]!;
    return Promise.allSettled(all).then((results) => {
      const refused: number[] = [];
      let first: unknown;
      let at = 0;
      for (let i = 0; i < results.length; i++) {
        const r = results[i]!;
        const count = views[i]!.count;
        if (r.status === 'rejected') {
          const places = refusedAsTooLarge(r.reason, count);
          // Any other failure: the slice is retried whole.
          if (!places) throw r.reason;
          for (const p of places) refused.push(at + p);
          first ??= r.reason;
        }
        at += count;
      }
      if (refused.length > 0) throw new EventTooLargeError(errorMessage(first), { indexes: refused });
    });
  }

  /**
   * One publish of entries of one topic: as messages when they all are, else as an event batch,
   * which the stream encodes itself (only a tracker whose stream has `publishEvents` keeps numbers).
   */
  private publishSlice(topic: string, entries: Queued[]): Promise<void> {
    const stream = this.opts.stream;
    if (!entries.some((e) => typeof e === 'number')) return stream.publish(topic, (entries as Entry[]).map((e) => e.message!));
    const builder = new EventBatchBuilder(this.numbers!);
    for (const e of entries) {
      if (typeof e === 'number') builder.addNumeric(e);
      else builder.addText(e.message!);
    }
    const batch = builder.build();
    return stream.publishEvents!(topic, batch);
  }

  /**
   * Sizes the next slice from a smoothed synchronous cost per event. A slice that took more than
   * twice the estimate counts as twice: what makes one slice slow is most often not its own work
   * (a garbage collection, the process descheduled), and taken at face value it cut the slices
   * after it to the minimum for a dozen publishes (measured in the ingest benchmark: slices of
   * 120 events at the median, 33 at the 10th percentile, where about 250 fit the budget).
   */
  private adaptSlice(events: number, syncMs: number): void {
    const perEvent = syncMs / events;
    const prev = this.syncMsPerEvent;
    this.syncMsPerEvent = prev === undefined ? perEvent : 0.8 * prev + 0.2 * Math.min(perEvent, 2 * prev);
    const fit = Math.floor(SLICE_BUDGET_MS / Math.max(this.syncMsPerEvent, 1e-6));
    this.sliceSize = Math.max(MIN_SLICE, Math.min(this.opts.batchSize, fit));
  }

  /** Computes the topic of a topic function once; an event whose topic cannot be computed is dropped. */
  private route(entry: Entry, fn: (event: InferenceEvent) => string): boolean {
    if (entry.topic !== undefined) return true;
    try {
      // A topic function needs the event object; an encoded event is decoded for it.
      const topic = fn(entry.event ?? (JSON.parse(entry.message!.value) as InferenceEvent));
      if (typeof topic !== 'string' || topic === '') throw new Error(`topic function returned ${String(topic)}`);
      entry.topic = topic;
      return true;
    } catch (err) {
      this.drop(entry, err);
      return false;
    }
  }

  /** Computes the message once (kept for retries); an event that cannot be serialized is dropped. */
  private serialize(entry: Queued): boolean {
    if (typeof entry === 'number') {
      if (this.numbers?.chunkOf(entry)) return true;
      // Cannot happen unless a place was released twice; the event is lost, and said so.
      this.drop(entry, new Error('its numbers were let go before it was published'));
      return false;
    }
    if (entry.message) return true;
    try {
      const event = entry.event!;
      entry.message = { key: event.endpointId, value: JSON.stringify(event) };
      return true;
    } catch (err) {
      this.drop(entry, err);
      return false;
    }
  }

  private drop(entry: Queued, err: unknown): void {
    this.counters.dropped += 1;
    this.fail(entry, `the event could not be published: ${errorMessage(err)}`);
    const endpoint = this.endpointOf(entry);
    this.report(new Error(`event of endpoint ${String(endpoint)} dropped: ${err instanceof Error ? err.message : String(err)}`));
  }

  /** The endpoint id of a queued event, when known. */
  private endpointOf(entry: Queued): string | undefined {
    return typeof entry === 'number' ? this.numbers?.endpointOf(entry)?.endpointId : (entry.event?.endpointId ?? entry.message?.key);
  }

  /** Puts failed events back at the head, keeping the newest of them if the queue filled meanwhile. */
  private requeue(entries: Queued[]): void {
    if (this.finished) {
      this.counters.dropped += entries.length;
      for (const e of entries) {
        this.fail(e, 'tracking closed before the event was stored');
        this.release(e);
      }
      return;
    }
    // The batch is still counted in `inflight`; only events beyond the bound are dropped.
    const otherInflight = this.inflight - entries.length;
    const room = Math.max(0, this.opts.maxQueue - this.pending.length - Math.max(0, otherInflight));
    const cut = Math.max(0, entries.length - room);
    const keep = entries.slice(cut);
    this.counters.dropped += cut;
    for (let i = 0; i < cut; i++) {
      this.fail(entries[i]!, 'the tracking queue is full');
      this.release(entries[i]!);
    }
    this.pending.unshiftAll(keep);
  }

  /** Resolves the durable events among `entries`: they are in the stream. */
  private stored(entries: readonly Queued[]): void {
    for (const e of entries) {
      const w = this.waiters.get(e);
      if (!w) continue;
      this.waiters.delete(e);
      w.resolve();
    }
  }

  /** Rejects the durable event `entry` (when it is one): it will not be stored. */
  private fail(entry: Queued, why: string): void {
    const w = this.waiters.get(entry);
    if (!w) return;
    this.waiters.delete(entry);
    w.reject(this.unavailable(why));
  }

  /**
   * After a failed publish: the durable events among `entries` and in the queue are refused and let
   * go (their requests answer an error at once instead of waiting for the stream to come back; a
   * client that sends one again makes a new event). Returns the other entries, to be retried.
   */
  private refuseDurable(entries: Queued[], err: unknown): Queued[] {
    if (this.waiters.size === 0) return entries;
    const why = `publishing failed: ${errorMessage(err)}`;
    const refuse = (e: Queued): boolean => {
      if (!this.waiters.has(e)) return false;
      this.counters.dropped += 1;
      this.fail(e, why);
      this.release(e);
      return true;
    };
    this.pending.removeWhere(refuse);
    return entries.filter((e) => !refuse(e));
  }

  private unavailable(why: string): TrackingUnavailableError {
    const cause = this.lastError === undefined ? '' : ` (last publish error: ${errorMessage(this.lastError)})`;
    return new TrackingUnavailableError(`tracking could not store the event: ${why}${cause}`, this.lastError);
  }

  private backoffMs(attempt: number): number {
    const base = Math.min(this.opts.retryMaxMs, this.opts.retryInitialMs * 2 ** Math.max(0, attempt - 1));
    // Jitter so many serving processes do not hammer a recovering stream in step.
    return Math.round(base * (0.5 + Math.random() * 0.5));
  }

  private report(err: unknown): void {
    try {
      this.opts.onError(err);
    } catch {
      // The error handler itself must not break the background loop.
    }
  }
}

/**
 * Synchronous work (serializing, the stream's synchronous part of publish) done in one go by the
 * background loop before it lets requests run again, in milliseconds.
 */
const SLICE_BUDGET_MS = 0.5;
/** Fewest events per slice: below that, per-publish overhead would dominate. */
const MIN_SLICE = 16;
/** Events per slice before any publish has been timed. */
const FIRST_SLICE = 64;
/** Endpoints (per kind) told about events too large, at most: past that, no more is told. */
const MAX_TOLD = 1000;
/** Events a retry publishes to find out whether the stream is back. */
const PROBE_EVENTS = 1;
/** Longest wait for a probe: a stream that cannot take one event in this time counts as down. */
const PROBE_TIMEOUT_MS = 2000;

/** Lets pending I/O (incoming requests) run before the next slice of background work. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** What `fn` returns, as a promise: one that rejects when `fn` throws (a stream's publish may throw instead of rejecting). */
function settles(fn: () => Promise<void>): Promise<void> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * The places of the events a publish of `count` refused as larger than the stream ever takes (its
 * EventTooLargeError's `indexes`, every other event of it stored), or undefined for any other error.
 */
function refusedAsTooLarge(err: unknown, count: number): ReadonlySet<number> | undefined {
  const indexes = err instanceof EventTooLargeError ? err.indexes : undefined;
  if (!indexes || indexes.length === 0 || !indexes.every((i) => Number.isInteger(i) && i >= 0 && i < count)) return undefined;
  return new Set(indexes);
}

/** A publish (or close) that did not settle in time; the publish itself may still settle later. */
class PublishTimeout extends Error {}

/** A publish that timed out, still awaited (see `awaitInDoubt`). */
interface InDoubt {
  publish: Promise<void>;
  ready: Queued[];
  views: StoreView[] | undefined;
}

/** Rejects after `ms` unless `p` settles first; a late rejection of `p` is swallowed. */
function withTimeout<T>(p: Promise<T>, ms: number, what: string, ref = false): Promise<T> {
  p.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PublishTimeout(`${what} timed out after ${ms} ms`)), ms);
    if (!ref) timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
