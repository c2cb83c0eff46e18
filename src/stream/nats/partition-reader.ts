import { AckPolicy, DeliverPolicy, ReplayPolicy, type Consumer, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { errorMessage } from '../../common/errors.ts';
import type { StreamMessage } from '../port.ts';
import { apiErrorCode, sleep, type NatsLink } from './nats-connection.ts';
import { baseOffsetOf, decodePack, nextOffsetAfter, type Pack } from './nats-pack.ts';

/** The little a reader logs. */
export interface ReaderLogger {
  warn(obj: Record<string, unknown>, msg: string): void;
}

/** What a {@link PartitionReader} needs. */
export interface PartitionReaderOptions {
  link: NatsLink;
  stream: string;
  topic: string;
  partition: number;
  consumer: string;
  subject: string;
  /** The committed position from the group record. */
  start: { next: number; seq: number };
  /** Stop pulling while this many fetched events wait to be handed out. */
  highWaterEvents: number;
  /**
   * Packs asked for per pull request at least; more when the packs seen are small and the buffer
   * has room (see {@link PartitionReader} `pullSize`), up to {@link MAX_PULL_PACKS}.
   */
  pullPacks: number;
  /** How long one pull request waits on the server. */
  pullExpiresMs: number;
  /** JetStream ack wait of the consumer (its redeliveries are ignored: the reader keeps its own order). */
  ackWaitMs: number;
  /** Pull only while this says the partition's lease is valid. */
  canPull: () => boolean;
  /** Called when new events are ready to be handed out. */
  onData: () => void;
  logger?: ReaderLogger;
}

/** How long {@link PartitionReader.awaiting} trusts the server's last answer (real time, ms). */
const AWAITED_TRUST_MS = 250;

/** Packs asked for per pull request at most. */
export const MAX_PULL_PACKS = 1024;

/**
 * A fetched pack. Its events are read from the message's body only when the first of them is
 * handed out, and let go once the last is: decoded on arrival and kept until the group committed
 * past them (after the consumer's write), every event of a batch, and of the buffer ahead of it,
 * lived through several young-generation collections and was copied into the old generation.
 */
interface HeldPack {
  msg: JsMsg;
  /** JetStream stream sequence of the message. */
  seq: number;
  /** Offset of the first event. */
  base: number;
  /** Events in the pack. */
  count: number;
  /** Epoch ms when the server stored it. */
  timestamp: number;
  /** The events, while some are being handed out: undefined before (not read yet) and after (all handed out). */
  entries: Pack['entries'] | undefined;
}

/** Where a commit of `offset` leaves the partition. */
export interface CommitPoint {
  next: number;
  seq: number;
  /** Packs wholly at or below the offset (dropped once committed). */
  whole: number;
}

/**
 * Reads one partition for the member that owns it, in offset order. At start (and whenever the
 * stream skips ahead unexpectedly) it re-creates the partition's durable pull consumer at the
 * committed sequence, so whatever an earlier owner fetched and did not acknowledge comes again.
 * Fetched packs wait in a bounded buffer; events are handed out in order and packs are dropped
 * (and acknowledged to JetStream, AckAll) once the group committed past them. Repeated packs
 * (JetStream redeliveries after ack wait) are ignored; a missing pack makes the reader restart
 * its consumer right after the last pack it holds.
 */
export class PartitionReader {
  readonly partition: number;
  /** Next offset to hand out. */
  handNext: number;
  /** First offset not committed, and the sequence to read from to reach it. */
  committedNext: number;
  committedSeq: number;
  private readonly o: PartitionReaderOptions;
  private readonly packs: HeldPack[] = [];
  /** Index of the first pack with events not handed out yet. */
  private handIdx = 0;
  private expectedNext: number;
  private lastSeq: number;
  private fresh = true;
  private stopped = false;
  /** True once the consumer exists and pulls are going out. */
  private ready = false;
  /** Highest consumer (delivery) sequence received from the current consumer; 0 right after it is created. */
  private deliveredSeen = 0;
  /** Consumer sequence that the events found on the server at the last {@link behind} request will reach. */
  private awaitedSeq = 0;
  private awaitedAt = 0;
  /** Counts consumer (re)creations: consumer sequences restart with each. */
  private consumerGeneration = 0;
  private current: ConsumerMessages | undefined;
  /** Events of the largest pack of the last pull that brought any (sizes the next pull); unknown at first. */
  private packEvents = Number.POSITIVE_INFINITY;
  /** Events of the largest pack of the pull in progress. */
  private pullLargest = 0;
  private wakeSpace: (() => void) | undefined;
  private running: Promise<void> | undefined;

  constructor(o: PartitionReaderOptions) {
    this.o = o;
    this.partition = o.partition;
    this.handNext = this.committedNext = this.expectedNext = o.start.next;
    this.committedSeq = Math.max(1, o.start.seq);
    this.lastSeq = this.committedSeq - 1;
  }

  /** Starts pulling in the background. */
  start(): void {
    this.running ??= this.run();
  }

  /** Stops pulling (messages in flight are dropped; the next owner reads them again). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.current?.stop();
    this.wakeSpace?.();
    await this.running;
  }

  /** Stops pulling and forgets fetched events not handed out; keeps what is needed to commit the rest. */
  async drain(): Promise<void> {
    await this.stop();
    while (this.packs.length > 0 && this.packs[this.packs.length - 1]!.base >= this.handNext) this.packs.pop();
    this.handIdx = Math.min(this.handIdx, this.packs.length);
  }

  /** Events fetched and not handed out yet. */
  buffered(): number {
    return this.stopped ? 0 : this.expectedNext - this.handNext;
  }

  /** Events handed out and not committed yet. */
  outstanding(): number {
    return this.handNext - this.committedNext;
  }

  /**
   * Whether the server holds events of this partition that have not reached the buffer yet (not
   * delivered, or delivered and still on the way), or the reader is still starting. Deliveries are
   * compared by consumer sequence: the consumer's stream sequence also moves past messages of the
   * stream's other subjects, which this partition never receives.
   */
  async behind(): Promise<boolean> {
    if (this.stopped) return false;
    if (!this.ready) return true;
    if (this.awaiting()) return true;
    const consumer = this.consumerGeneration;
    const info = await this.o.link.jsm.consumers.info(this.o.stream, this.o.consumer);
    if (consumer !== this.consumerGeneration) return true;
    // Deliveries of what the server holds now will reach this consumer sequence (redeliveries only move it sooner).
    this.awaitedSeq = info.delivered.consumer_seq + info.num_pending;
    this.awaitedAt = Date.now();
    return this.awaitedSeq > this.deliveredSeen;
  }

  /**
   * Whether events the server was last found to hold (see {@link behind}) are still on their way,
   * known without asking the server again. The answer is trusted for {@link AWAITED_TRUST_MS}
   * only, so that events removed from the stream meanwhile cannot keep a reader waiting.
   */
  awaiting(): boolean {
    return !this.stopped && this.ready && this.deliveredSeen < this.awaitedSeq && Date.now() - this.awaitedAt < AWAITED_TRUST_MS;
  }

  /** Hands out up to `max - out.length` events in order, appending them to `out`. */
  take(max: number, out: StreamMessage[]): void {
    while (out.length < max && this.handIdx < this.packs.length) {
      const pack = this.packs[this.handIdx]!;
      const count = pack.count;
      const entries = (pack.entries ??= this.read(pack));
      let i = Math.max(0, this.handNext - pack.base);
      // A pack whose body cannot be read (see `read`) hands out none of its offsets.
      if (entries.length !== count) i = count;
      for (; i < count && out.length < max; i++) {
        const [key, value] = entries[i]!;
        out.push({ topic: this.o.topic, partition: this.partition, offset: String(pack.base + i), key, value, timestamp: pack.timestamp });
      }
      this.handNext = Math.max(this.handNext, pack.base + i);
      if (i >= count) {
        pack.entries = undefined;
        this.handIdx++;
      }
    }
    if (!this.stopped && this.expectedNext - this.handNext < this.o.highWaterEvents) this.wakeSpace?.();
  }

  /** Where committing up to and including `offset` (handed out, not committed) leaves the partition. */
  commitPoint(offset: number): CommitPoint {
    let whole = 0;
    for (const pack of this.packs) {
      const end = pack.base + pack.count;
      if (offset < pack.base) break;
      if (offset < end - 1) return { next: offset + 1, seq: pack.seq, whole };
      whole++;
      if (offset === end - 1) return { next: offset + 1, seq: pack.seq + 1, whole };
    }
    return { next: offset + 1, seq: this.committedSeq, whole };
  }

  /** Records a commit made through the group record: drops the packs it covers and acknowledges them to JetStream. */
  committed(point: CommitPoint): void {
    if (point.next <= this.committedNext) return;
    this.committedNext = point.next;
    this.committedSeq = point.seq;
    if (point.whole > 0) {
      const dropped = this.packs.splice(0, point.whole);
      this.handIdx = Math.max(0, this.handIdx - point.whole);
      try {
        dropped[dropped.length - 1]?.msg.ack();
      } catch {
        // The consumer's own ack state is only a convenience: the group record is the truth.
      }
    }
  }

  private async run(): Promise<void> {
    let restartAt: number | undefined = this.committedSeq;
    let consumer: Consumer | undefined;
    let failures = 0;
    while (!this.stopped) {
      try {
        if (restartAt !== undefined || !consumer) {
          this.ready = false;
          consumer = await this.recreate(restartAt ?? this.lastSeq + 1);
          this.consumerGeneration++;
          this.deliveredSeen = 0;
          this.awaitedSeq = 0;
          restartAt = undefined;
          this.fresh = true;
          this.ready = true;
          if (this.stopped) break;
        }
        if (!this.o.canPull() || this.expectedNext - this.handNext >= this.o.highWaterEvents) {
          await this.waitForSpace(100);
          continue;
        }
        const iter = await consumer.fetch({ max_messages: this.pullSize(), expires: this.o.pullExpiresMs });
        this.current = iter;
        if (this.stopped) iter.stop();
        for await (const m of iter) {
          if (this.stopped) break;
          this.deliveredSeen = Math.max(this.deliveredSeen, m.info.deliverySequence);
          const r = this.accept(m);
          if (r === 'gap') {
            restartAt = this.lastSeq + 1;
            iter.stop();
            break;
          }
          if (r === 'ok') this.o.onData();
        }
        this.current = undefined;
        if (this.pullLargest > 0) this.packEvents = this.pullLargest;
        this.pullLargest = 0;
        failures = 0;
      } catch (err) {
        this.current = undefined;
        if (this.stopped) break;
        failures++;
        if (apiErrorCode(err) === 10014 || /consumer (not found|deleted)/i.test(errorMessage(err))) restartAt = this.lastSeq + 1;
        if (failures === 1 || failures % 20 === 0) {
          this.o.logger?.warn({ partition: this.partition, consumer: this.o.consumer, err: errorMessage(err) }, 'NATS partition reader failed; retrying');
        }
        await sleep(Math.min(2000, 50 * 2 ** Math.min(failures, 6)));
      }
    }
  }

  private accept(m: JsMsg): 'ok' | 'dup' | 'gap' | 'foreign' {
    const pack = this.hold(m);
    if (!pack) {
      this.o.logger?.warn({ subject: this.o.subject, seq: m.seq }, 'ignored a message that modelwatch did not write');
      this.lastSeq = Math.max(this.lastSeq, m.seq);
      return 'foreign';
    }
    const end = pack.base + pack.count;
    if (end <= this.expectedNext) return 'dup';
    if (pack.base > this.expectedNext) {
      if (!this.fresh) return 'gap';
      this.o.logger?.warn(
        { subject: this.o.subject, from: this.expectedNext, to: pack.base },
        'events of this partition are gone from the stream (retention) before the group read them',
      );
    }
    this.fresh = false;
    this.pullLargest = Math.max(this.pullLargest, pack.count);
    this.packs.push(pack);
    this.expectedNext = end;
    this.lastSeq = pack.seq;
    return 'ok';
  }

  /**
   * A fetched message as a pack, its events left unread when its headers give their number (every
   * pack this version writes); undefined for a message modelwatch did not write.
   */
  private hold(m: JsMsg): HeldPack | undefined {
    const timestamp = Math.floor(Number(m.info.timestampNanos) / 1e6);
    const base = baseOffsetOf(m.headers);
    const next = nextOffsetAfter(m.headers);
    if (base !== undefined && next !== undefined && next >= base) return { msg: m, seq: m.seq, base, count: next - base, timestamp, entries: undefined };
    const pack = decodePack({ seq: m.seq, headers: m.headers, data: m.data, timestampMs: timestamp });
    return pack && { msg: m, seq: pack.seq, base: pack.base, count: pack.entries.length, timestamp, entries: pack.entries };
  }

  /** The events of a held pack, read from its body; none (with a warning) when the body does not hold its `count` events. */
  private read(pack: HeldPack): Pack['entries'] {
    const m = pack.msg;
    const entries = decodePack({ seq: m.seq, headers: m.headers, data: m.data, timestampMs: pack.timestamp })?.entries;
    if (entries && entries.length === pack.count) return entries;
    this.o.logger?.warn(
      { subject: this.o.subject, seq: m.seq, offsets: `${pack.base}-${pack.base + pack.count - 1}` },
      'skipped a stream message whose body cannot be read: its events are lost',
    );
    return [];
  }

  private async recreate(startSeq: number): Promise<Consumer> {
    const { jsm, js } = this.o.link;
    try {
      await jsm.consumers.delete(this.o.stream, this.o.consumer);
    } catch (err) {
      if (apiErrorCode(err) !== 10014) throw err;
    }
    await jsm.consumers.add(this.o.stream, {
      durable_name: this.o.consumer,
      description: `modelwatch group consumer of ${this.o.subject}`,
      filter_subject: this.o.subject,
      ack_policy: AckPolicy.All,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: Math.max(1, startSeq),
      replay_policy: ReplayPolicy.Instant,
      ack_wait: this.o.ackWaitMs * 1_000_000,
      max_ack_pending: 20_000,
      max_deliver: -1,
    });
    return js.consumers.get(this.o.stream, this.o.consumer);
  }

  /**
   * Packs to ask for: as many as fill the buffer's free room at the size of the largest recent
   * pack, so that producers writing small packs (a trickle, or many producers) cost few pull
   * requests, while large packs keep the buffer near `highWaterEvents`.
   */
  private pullSize(): number {
    const room = this.o.highWaterEvents - (this.expectedNext - this.handNext);
    return Math.min(MAX_PULL_PACKS, Math.max(this.o.pullPacks, Math.floor(room / Math.max(1, this.packEvents))));
  }

  private waitForSpace(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        if (this.wakeSpace === done) this.wakeSpace = undefined;
        resolve();
      };
      const t = setTimeout(done, ms);
      this.wakeSpace = done;
    });
  }
}
