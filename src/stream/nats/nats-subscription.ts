import { errorMessage, ValidationError } from '../../common/errors.ts';
import { StreamClosedError, StreamPartitionLostError } from '../errors.ts';
import type { StreamMessage, Subscription } from '../port.ts';
import { GroupMembership } from './group-membership.ts';
import { RecordConflict, type GroupRecords } from './group-records.ts';
import { readTail } from './nats-catalog.ts';
import type { NatsLink } from './nats-connection.ts';
import { partitionSubject, type GroupPlace, type TopicPlace } from './nats-names.ts';
import { PartitionLease } from './partition-lease.ts';
import { PartitionReader, type CommitPoint, type ReaderLogger } from './partition-reader.ts';
import { DataSignal } from '../data-signal.ts';

/** Timings of a group member (all real time, ms). */
export interface MemberTimings {
  /** A partition whose record did not change for this long may be taken over. */
  leaseTtlMs: number;
  /** Membership announcements; a member silent for three is gone. */
  heartbeatMs: number;
  /** How long `subscribe` listens for the other members before taking partitions. */
  joinWaitMs: number;
  /** Period of lease renewal checks and rebalancing. */
  tickMs: number;
  /** How long `fetch(max, 0)` waits for events the server holds but the buffers do not yet. */
  settleWaitMs: number;
  /** A partition handed to another member waits this long at most for its handed-out messages to be acknowledged. */
  drainTimeoutMs: number;
  ackWaitMs: number;
  pullExpiresMs: number;
  pullPacks: number;
  highWaterEvents: number;
}

/** What a {@link NatsSubscription} needs from its stream. */
export interface NatsSubscriptionContext {
  link: NatsLink;
  records: GroupRecords;
  place: TopicPlace;
  group: string;
  names: GroupPlace;
  partitions: number;
  ownerId: string;
  timings: MemberTimings;
  logger?: ReaderLogger;
  onClose: () => void;
}

interface Owned {
  reader: PartitionReader;
  lease: PartitionLease;
  drainingSince?: number;
}

/**
 * One member of a consumer group on NATS. The group's partitions are shared among its live
 * members: with members sorted by id, member k of L wants the partitions p with p mod L = k. A
 * member takes a wanted partition when its record is free (or its own, after a restart) or has
 * not changed for a lease time (its owner died); it gives a partition it no longer wants back
 * once every message it handed out of it is acknowledged (or after `drainTimeoutMs`). Each owned
 * partition is read by a {@link PartitionReader}; `ack` commits through the partition's record.
 */
export class NatsSubscription implements Subscription {
  private readonly c: NatsSubscriptionContext;
  private readonly owned = new Map<number, Owned>();
  private readonly observed = new Map<number, { rev: number; since: number }>();
  private readonly membership: GroupMembership;
  private readonly data = new DataSignal();
  /** Which reader handed a message out: one from an earlier ownership of its partition cannot be committed. */
  private readonly handedBy = new WeakMap<StreamMessage, PartitionReader>();
  private timer: NodeJS.Timeout | undefined;
  private rebalancing: Promise<void> | undefined;
  private again = false;
  private rotate = 0;
  private closed = false;
  /** Stream sequence up to which every owned partition was found fully fetched (see {@link behind}). */
  private settledAt = -1;

  constructor(c: NatsSubscriptionContext) {
    this.c = c;
    this.membership = new GroupMembership(c.link.nc, c.names.membership, c.ownerId, c.timings.heartbeatMs, () => this.kick());
  }

  /** Joins the group: announces itself, listens for the others a moment, takes its partitions. */
  async start(): Promise<void> {
    await this.membership.start();
    await new Promise((r) => setTimeout(r, this.c.timings.joinWaitMs));
    this.kick();
    await this.rebalancing;
    this.timer = setInterval(() => this.tick(), this.c.timings.tickMs);
    this.timer.unref();
  }

  /** Partitions this member reads now (for tests and status). */
  ownedPartitions(): number[] {
    return [...this.owned.entries()].filter(([, o]) => o.drainingSince === undefined && !o.lease.lost).map(([p]) => p).sort((a, b) => a - b);
  }

  /**
   * Hands out up to `max` messages of the owned partitions. With `waitMs` > 0 it returns as soon as
   * there are some, or after `waitMs`. With `waitMs` 0 it returns what was stored before the call,
   * up to `max`, as the embedded log does: when the buffers run dry before `max` it asks the server
   * whether events are still on their way (one stream-info request, and per-partition consumer info
   * only when the stream grew) and waits for them, for `settleWaitMs` at most. It asks again only
   * once the events the server last reported have arrived.
   */
  async fetch(max: number, waitMs = 0): Promise<StreamMessage[]> {
    this.checkOpen();
    if (!(max >= 1)) return [];
    const limit = Math.trunc(max);
    const out: StreamMessage[] = [];
    if (waitMs > 0) {
      const until = Date.now() + waitMs;
      for (;;) {
        this.take(limit, out);
        const left = until - Date.now();
        if (out.length > 0 || this.closed || left <= 0) return out;
        await this.data.wait(Math.min(left, 250));
      }
    }
    const until = Date.now() + this.c.timings.settleWaitMs;
    for (;;) {
      this.take(limit, out);
      if (out.length >= limit || this.closed || Date.now() >= until) return out;
      if (!(await this.behind())) {
        // What arrived while the server was asked is in the buffers now: hand it out too.
        this.take(limit, out);
        return out;
      }
      await this.data.wait(Math.max(1, Math.min(until - Date.now(), 50)));
    }
  }

  async ack(messages: StreamMessage[]): Promise<void> {
    this.checkOpen();
    const upTo = new Map<number, number>();
    const lost = new Set<number>();
    for (const m of messages) {
      if (m.topic !== this.c.place.topic) {
        throw new ValidationError(`cannot acknowledge a message of topic '${m.topic}' on a subscription to '${this.c.place.topic}'`);
      }
      const offset = Number(m.offset);
      if (!Number.isSafeInteger(offset) || offset < 0) throw new ValidationError(`'${m.offset}' is not an offset of this stream`);
      const by = this.handedBy.get(m);
      if (by && by !== this.owned.get(m.partition)?.reader) {
        lost.add(m.partition);
        continue;
      }
      upTo.set(m.partition, Math.max(upTo.get(m.partition) ?? -1, offset));
    }
    const work: [Owned, number][] = [];
    for (const [p, offset] of upTo) {
      const o = this.owned.get(p);
      if (!o || o.lease.lost) lost.add(p);
      else if (offset >= o.reader.handNext) throw new ValidationError(`cannot acknowledge offset ${offset} of partition ${p}: it was not handed out`);
      else work.push([o, offset]);
    }
    await Promise.all(
      work.map(async ([o, offset]) => {
        let point: CommitPoint | undefined;
        try {
          await o.lease.update(
            () => {
              if (offset < o.reader.committedNext) return undefined;
              point = o.reader.commitPoint(offset);
              return { next: point.next, seq: point.seq };
            },
            () => {
              if (point) o.reader.committed(point);
            },
          );
        } catch (err) {
          if (!(err instanceof RecordConflict)) throw err;
          lost.add(o.reader.partition);
          this.kick();
        }
      }),
    );
    if (lost.size > 0) throw new StreamPartitionLostError(this.c.place.topic, this.c.group, [...lost].sort((a, b) => a - b));
  }

  async lag(): Promise<number> {
    this.checkOpen();
    const { link, place, records, names } = this.c;
    const perPartition = await Promise.all(
      Array.from({ length: this.c.partitions }, async (_, p) => {
        const [rec, tail] = await Promise.all([records.read(names.record(p)), readTail(link, place.stream, partitionSubject(place, p))]);
        return Math.max(0, tail.next - (rec?.next ?? 0));
      }),
    );
    return perPartition.reduce((a, b) => a + b, 0);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.data.notify();
    try {
      await this.membership.stop();
      await this.rebalancing;
      await Promise.all([...this.owned.keys()].map((p) => this.release(p)));
    } finally {
      this.owned.clear();
      this.c.onClose();
    }
  }

  /** Whether events stored on the server have not reached the owned partitions' buffers yet. */
  private async behind(): Promise<boolean> {
    const readers = [...this.owned.values()].filter((o) => o.drainingSince === undefined && o.lease.valid()).map((o) => o.reader);
    if (readers.length === 0) return false;
    // Events some reader was told of are still arriving: no need to ask the server again yet.
    if (readers.some((r) => r.awaiting())) return true;
    try {
      const info = await this.c.link.jsm.streams.info(this.c.place.stream);
      const last = info.state.last_seq;
      if (last === this.settledAt) return false;
      const behind = await Promise.all(readers.map((r) => r.behind()));
      if (behind.some(Boolean)) return true;
      this.settledAt = last;
      return false;
    } catch (err) {
      // The server is away: hand out what is here; the next fetch asks again.
      this.c.logger?.warn({ stream: this.c.place.stream, err: errorMessage(err) }, 'could not ask NATS whether events are on their way');
      return false;
    }
  }

  /** Appends up to `max - out.length` messages, rotating the partition served first. */
  private take(max: number, out: StreamMessage[]): void {
    const readers = [...this.owned.values()].filter((o) => o.drainingSince === undefined && o.lease.valid()).map((o) => o.reader);
    const n = readers.length;
    for (let k = 0; k < n && out.length < max; k++) {
      const reader = readers[(this.rotate + k) % n]!;
      const from = out.length;
      reader.take(max, out);
      for (let i = from; i < out.length; i++) this.handedBy.set(out[i]!, reader);
    }
    this.rotate = (this.rotate + 1) % Math.max(1, n);
  }


  private tick(): void {
    if (this.closed) return;
    const renewEvery = this.c.timings.leaseTtlMs / 4;
    for (const o of this.owned.values()) {
      if (o.lease.lost || Date.now() - o.lease.lastWriteAt < renewEvery) continue;
      o.lease
        .update(() =>
          Date.now() - o.lease.lastWriteAt < renewEvery ? undefined : { next: o.reader.committedNext, seq: o.reader.committedSeq },
        )
        .catch((err: unknown) => {
          if (err instanceof RecordConflict) this.kick();
          else this.c.logger?.warn({ subject: o.lease.subject, err: errorMessage(err) }, 'could not renew a NATS partition lease; retrying');
        });
    }
    this.kick();
  }

  /** Runs a rebalance now, or once more after the one in progress. */
  private kick(): void {
    if (this.closed) return;
    if (this.rebalancing) {
      this.again = true;
      return;
    }
    this.rebalancing = (async () => {
      do {
        this.again = false;
        try {
          await this.rebalance();
        } catch (err) {
          this.c.logger?.warn({ group: this.c.group, topic: this.c.place.topic, err: errorMessage(err) }, 'NATS group rebalance failed; retrying');
        }
      } while (this.again && !this.closed);
      this.rebalancing = undefined;
    })();
  }

  private async rebalance(): Promise<void> {
    const members = this.membership.members();
    const k = members.indexOf(this.c.ownerId);
    const wanted = (p: number): boolean => p % members.length === k;
    for (const [p, o] of [...this.owned]) {
      if (this.closed) return;
      if (o.lease.lost) {
        this.owned.delete(p);
        await o.reader.stop();
        this.c.logger?.warn({ topic: this.c.place.topic, group: this.c.group, partition: p }, 'lost a partition to another member');
        continue;
      }
      if (wanted(p) && o.drainingSince === undefined) continue;
      if (o.drainingSince === undefined) {
        o.drainingSince = Date.now();
        await o.reader.drain();
      }
      if (o.reader.outstanding() === 0 || Date.now() - o.drainingSince >= this.c.timings.drainTimeoutMs) await this.release(p);
    }
    const missing = Array.from({ length: this.c.partitions }, (_, p) => p).filter((p) => wanted(p) && !this.owned.has(p));
    await Promise.all(missing.map((p) => this.tryAcquire(p)));
  }

  private async tryAcquire(p: number): Promise<void> {
    const subject = this.c.names.record(p);
    const rec = (await this.c.records.read(subject)) ?? { rev: 0, owner: '', next: 0, seq: 1 };
    if (this.closed) return;
    if (rec.owner !== '' && rec.owner !== this.c.ownerId) {
      const seen = this.observed.get(p);
      if (!seen || seen.rev !== rec.rev) {
        this.observed.set(p, { rev: rec.rev, since: Date.now() });
        return;
      }
      if (Date.now() - seen.since < this.c.timings.leaseTtlMs) return;
      this.c.logger?.warn({ topic: this.c.place.topic, group: this.c.group, partition: p, from: rec.owner }, 'taking over a partition whose owner stopped renewing');
    }
    const sentAt = Date.now();
    let rev: number;
    try {
      rev = await this.c.records.write(subject, rec.rev, { owner: this.c.ownerId, next: rec.next, seq: rec.seq });
    } catch (err) {
      if (err instanceof RecordConflict) return;
      throw err;
    }
    this.observed.delete(p);
    const lease = new PartitionLease(this.c.records, subject, this.c.ownerId, rev, sentAt, this.c.timings.leaseTtlMs);
    const t = this.c.timings;
    const reader = new PartitionReader({
      link: this.c.link,
      stream: this.c.place.stream,
      topic: this.c.place.topic,
      partition: p,
      consumer: this.c.names.consumer(p),
      subject: partitionSubject(this.c.place, p),
      start: { next: rec.next, seq: rec.seq },
      highWaterEvents: t.highWaterEvents,
      pullPacks: t.pullPacks,
      pullExpiresMs: t.pullExpiresMs,
      ackWaitMs: t.ackWaitMs,
      canPull: () => lease.valid(),
      onData: () => this.data.notify(),
      ...(this.c.logger ? { logger: this.c.logger } : {}),
    });
    if (this.closed) {
      await lease.update(() => ({ owner: '', next: rec.next, seq: rec.seq })).catch(() => undefined);
      return;
    }
    this.owned.set(p, { reader, lease });
    this.settledAt = -1;
    reader.start();
  }

  /** Stops reading `p` and frees its record at the committed position. */
  private async release(p: number): Promise<void> {
    const o = this.owned.get(p);
    if (!o) return;
    this.owned.delete(p);
    await o.reader.stop();
    if (o.lease.lost) return;
    await o.lease.update(() => ({ owner: '', next: o.reader.committedNext, seq: o.reader.committedSeq })).catch(() => undefined);
  }

  private checkOpen(): void {
    if (this.closed) throw new StreamClosedError(`the subscription of group '${this.c.group}' to '${this.c.place.topic}'`);
  }
}
