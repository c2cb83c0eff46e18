import { ValidationError } from '../../common/errors.ts';
import type { StreamMessage } from '../port.ts';

/** A record as kafkajs hands it to `eachBatch`. */
export interface KafkaRecord {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: string;
}

interface PartitionState {
  /** Bumped each time the partition is (re)assigned to this member. */
  epoch: number;
  /** Fetched, not handed out yet, in offset order; `head` is the first one. */
  pending: StreamMessage[];
  head: number;
  /** Offset after the last record buffered (later fetches of lower offsets are repeats). */
  expectedNext: number | undefined;
  /** Offset after the last message handed out. */
  handNext: number | undefined;
  /** First offset not committed by this member (the first offset it buffered, until it commits). */
  committedNext: number | undefined;
  paused: boolean;
}

/** What acknowledging some messages means for the buffer. */
export interface AckPlan {
  /** Per partition, the offset to commit (the next one to read, as Kafka commits it). */
  commits: { partition: number; offset: string }[];
  /** Partitions of acknowledged messages this member does not own (any more). */
  lost: number[];
}

/**
 * Bridges kafkajs's push (`eachBatch`) to the pull `fetch()` of the Stream port, for one topic of one
 * group member. Records pushed per partition wait in a bounded buffer (the caller pauses a partition
 * when {@link push} says it is full and resumes it when {@link take} says so); `take` hands them out
 * in offset order, round-robin over partitions. A rebalance stops handing out until the new
 * assignment arrives; revoked partitions are dropped with everything buffered or handed out of them
 * (their next owner reads from the committed offset), kept ones keep their state, and records
 * fetched again after the rebalance are recognised as repeats by offset.
 */
export class KafkaFetchBuffer {
  private readonly parts = new Map<number, PartitionState>();
  private readonly handedEpoch = new WeakMap<StreamMessage, { partition: number; epoch: number }>();
  private epochs = 0;
  private handing = true;
  private rotate = 0;

  constructor(
    private readonly topic: string,
    private readonly highWater: number,
  ) {}

  /** A rebalance started: hand nothing out until {@link assign}. */
  rebalancing(): void {
    this.handing = false;
  }

  /** The member's new assignment: drops revoked partitions, adds new ones. */
  assign(partitions: readonly number[]): void {
    const keep = new Set(partitions);
    for (const p of [...this.parts.keys()]) if (!keep.has(p)) this.parts.delete(p);
    for (const p of partitions) if (!this.parts.has(p)) this.parts.set(p, this.fresh());
    this.handing = true;
  }

  /** Partitions owned now. */
  assigned(): number[] {
    return [...this.parts.keys()].sort((a, b) => a - b);
  }

  /** False during a rebalance (nothing is handed out then). */
  isHanding(): boolean {
    return this.handing;
  }

  /** Offset after the last record buffered of `partition` (undefined before its first record). */
  nextOf(partition: number): number | undefined {
    return this.parts.get(partition)?.expectedNext;
  }

  /** Owned partitions split by whether their buffer has room (after an assignment). */
  flow(): { pause: number[]; resume: number[] } {
    const pause: number[] = [];
    const resume: number[] = [];
    for (const [p, s] of this.parts) {
      s.paused = s.pending.length - s.head >= this.highWater;
      (s.paused ? pause : resume).push(p);
    }
    return { pause, resume };
  }

  /**
   * Buffers fetched records of `partition` (repeats are skipped). Returns true when the partition
   * is full and should be paused.
   */
  push(partition: number, records: readonly KafkaRecord[]): boolean {
    let s = this.parts.get(partition);
    if (!s) {
      s = this.fresh();
      this.parts.set(partition, s);
    }
    for (const r of records) {
      const offset = Number(r.offset);
      if (s.expectedNext !== undefined && offset < s.expectedNext) continue;
      s.pending.push({
        topic: this.topic,
        partition,
        offset: r.offset,
        key: r.key ? r.key.toString() : '',
        value: r.value ? r.value.toString() : '',
        timestamp: Number(r.timestamp),
      });
      s.expectedNext = offset + 1;
      s.handNext ??= offset;
      s.committedNext ??= offset;
    }
    const full = s.pending.length - s.head >= this.highWater;
    if (full) s.paused = true;
    return full;
  }

  /** Messages waiting to be handed out. */
  buffered(): number {
    let n = 0;
    for (const s of this.parts.values()) n += s.pending.length - s.head;
    return n;
  }

  /** Hands out up to `max` messages; `resume` lists paused partitions that have room again. */
  take(max: number): { messages: StreamMessage[]; resume: number[] } {
    const out: StreamMessage[] = [];
    const resume: number[] = [];
    if (!this.handing) return { messages: out, resume };
    const entries = [...this.parts.entries()];
    const n = entries.length;
    for (let k = 0; k < n && out.length < max; k++) {
      const [p, s] = entries[(this.rotate + k) % n]!;
      while (out.length < max && s.head < s.pending.length) {
        const m = s.pending[s.head++]!;
        out.push(m);
        this.handedEpoch.set(m, { partition: p, epoch: s.epoch });
        s.handNext = Number(m.offset) + 1;
      }
      if (s.head > 1024 && s.head * 2 > s.pending.length) {
        s.pending.splice(0, s.head);
        s.head = 0;
      }
    }
    this.rotate = (this.rotate + 1) % Math.max(1, n);
    for (const [p, s] of this.parts) {
      if (s.paused && s.pending.length - s.head < this.highWater / 2) {
        s.paused = false;
        resume.push(p);
      }
    }
    return { messages: out, resume };
  }

  /**
   * What acknowledging `messages` commits: per partition, one past the highest offset. Messages
   * handed out before their partition was revoked (or from another epoch) count as lost.
   * @throws ValidationError for another topic or an offset not handed out.
   */
  planAck(messages: readonly StreamMessage[]): AckPlan {
    const upTo = new Map<number, number>();
    const lost = new Set<number>();
    for (const m of messages) {
      if (m.topic !== this.topic) throw new ValidationError(`cannot acknowledge a message of topic '${m.topic}' on a subscription to '${this.topic}'`);
      const offset = Number(m.offset);
      if (!Number.isSafeInteger(offset) || offset < 0) throw new ValidationError(`'${m.offset}' is not an offset of this stream`);
      const s = this.parts.get(m.partition);
      const from = this.handedEpoch.get(m);
      if (!s || (from && from.epoch !== s.epoch)) {
        lost.add(m.partition);
        continue;
      }
      upTo.set(m.partition, Math.max(upTo.get(m.partition) ?? -1, offset));
    }
    const commits: AckPlan['commits'] = [];
    for (const [p, offset] of upTo) {
      const s = this.parts.get(p)!;
      if (s.handNext === undefined || offset >= s.handNext) {
        throw new ValidationError(`cannot acknowledge offset ${offset} of partition ${p}: it was not handed out`);
      }
      if (s.committedNext !== undefined && offset < s.committedNext) continue;
      commits.push({ partition: p, offset: String(offset + 1) });
    }
    return { commits, lost: [...lost].sort((a, b) => a - b) };
  }

  /** Records commits that Kafka accepted. */
  committed(commits: AckPlan['commits']): void {
    for (const c of commits) {
      const s = this.parts.get(c.partition);
      if (s) s.committedNext = Math.max(s.committedNext ?? 0, Number(c.offset));
    }
  }

  private fresh(): PartitionState {
    return { epoch: ++this.epochs, pending: [], head: 0, expectedNext: undefined, handNext: undefined, committedNext: undefined, paused: false };
  }
}
