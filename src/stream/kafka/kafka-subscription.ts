import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { errorMessage } from '../../common/errors.ts';
import { StreamClosedError, StreamPartitionLostError } from '../errors.ts';
import type { StreamMessage, Subscription } from '../port.ts';
import { toKafkaError, type KafkaLogger } from './kafka-errors.ts';
import { KafkaFetchBuffer } from './kafka-fetch-buffer.ts';
import { DataSignal } from '../data-signal.ts';

/** Consumer settings of a {@link KafkaSubscription}. */
export interface KafkaConsumerTimings {
  /** Kafka session timeout (the broker's group.min.session.timeout.ms is usually 6000). */
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  rebalanceTimeoutMs: number;
  /** How long `subscribe` waits for the first partition assignment. */
  joinTimeoutMs: number;
  /** Messages buffered per partition before it is paused. */
  highWaterEvents: number;
  /** How long `fetch(max, 0)` waits for records the broker holds but the buffer does not yet. */
  settleWaitMs: number;
  /** Longest a broker holds a fetch open when there is nothing to read. */
  maxWaitTimeMs: number;
}

/** What a {@link KafkaSubscription} needs. */
export interface KafkaSubscriptionContext {
  kafka: Kafka;
  admin: Admin;
  /** The Kafka topic and the modelwatch topic it carries. */
  kafkaTopic: string;
  topic: string;
  group: string;
  groupId: string;
  timings: KafkaConsumerTimings;
  logger?: KafkaLogger;
  onClose: () => void;
}

const LOST_ON_COMMIT = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'FENCED_INSTANCE_ID']);

/**
 * One member of a Kafka consumer group, through kafkajs's group protocol: Kafka assigns the
 * partitions, kafkajs fetches them into a {@link KafkaFetchBuffer} (pausing full partitions) and
 * `fetch` takes from it. Offsets are committed only by `ack` (offset + 1 per partition); nothing is
 * auto-committed, so what was handed out and not acknowledged is read again by the partition's
 * next owner.
 */
export class KafkaSubscription implements Subscription {
  private readonly c: KafkaSubscriptionContext;
  private readonly buffer: KafkaFetchBuffer;
  private readonly consumer: Consumer;
  private readonly data = new DataSignal();
  private closed = false;
  private joined: (() => void) | undefined;

  constructor(c: KafkaSubscriptionContext) {
    this.c = c;
    this.buffer = new KafkaFetchBuffer(c.topic, c.timings.highWaterEvents);
    this.consumer = c.kafka.consumer({
      groupId: c.groupId,
      sessionTimeout: c.timings.sessionTimeoutMs,
      heartbeatInterval: c.timings.heartbeatIntervalMs,
      rebalanceTimeout: c.timings.rebalanceTimeoutMs,
      maxWaitTimeInMs: c.timings.maxWaitTimeMs,
      allowAutoTopicCreation: false,
    });
    const { REBALANCING, GROUP_JOIN, CRASH } = this.consumer.events;
    this.consumer.on(REBALANCING, () => this.buffer.rebalancing());
    this.consumer.on(GROUP_JOIN, (e) => {
      this.buffer.assign(e.payload.memberAssignment[c.kafkaTopic] ?? []);
      const { pause, resume } = this.buffer.flow();
      if (pause.length > 0) this.consumer.pause([{ topic: c.kafkaTopic, partitions: pause }]);
      if (resume.length > 0) this.consumer.resume([{ topic: c.kafkaTopic, partitions: resume }]);
      this.joined?.();
      this.data.notify();
    });
    this.consumer.on(CRASH, (e) => {
      c.logger?.warn({ groupId: c.groupId, err: errorMessage(e.payload.error), restart: e.payload.restart }, 'Kafka consumer crashed');
    });
  }

  /** Joins the group and waits (up to `joinTimeoutMs`) for the first assignment. */
  async start(from: 'earliest' | 'latest'): Promise<void> {
    const joined = new Promise<void>((resolve) => (this.joined = resolve));
    try {
      await this.consumer.connect();
      await this.consumer.subscribe({ topics: [this.c.kafkaTopic], fromBeginning: from !== 'latest' });
      await this.consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: (payload) => this.onBatch(payload),
      });
    } catch (err) {
      throw toKafkaError(err, `joining group '${this.c.group}' of '${this.c.topic}'`);
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([joined, new Promise<void>((r) => (timer = setTimeout(r, this.c.timings.joinTimeoutMs)))]);
    clearTimeout(timer);
  }

  /**
   * Hands out up to `max` messages of the assigned partitions. With `waitMs` > 0 it returns as soon
   * as there are some, or after `waitMs`. With `waitMs` 0 it returns what was stored before the
   * call, up to `max`: when the buffer runs dry it compares the partitions' end offsets with what
   * was fetched and waits for the rest (during a rebalance too), for `settleWaitMs` at most.
   */
  async fetch(max: number, waitMs = 0): Promise<StreamMessage[]> {
    this.checkOpen();
    if (!(max >= 1)) return [];
    const limit = Math.trunc(max);
    const out: StreamMessage[] = [];
    const until = Date.now() + (waitMs > 0 ? waitMs : this.c.timings.settleWaitMs);
    for (;;) {
      this.take(limit, out);
      if (out.length >= limit || this.closed || Date.now() >= until) return out;
      if (waitMs > 0 ? out.length > 0 : !(await this.behind())) return out;
      await this.data.wait(Math.max(1, Math.min(until - Date.now(), waitMs > 0 ? 250 : 50)));
    }
  }

  async ack(messages: StreamMessage[]): Promise<void> {
    this.checkOpen();
    const plan = this.buffer.planAck(messages);
    const lost = new Set(plan.lost);
    if (plan.commits.length > 0) {
      try {
        await this.consumer.commitOffsets(plan.commits.map((x) => ({ topic: this.c.kafkaTopic, partition: x.partition, offset: x.offset })));
        this.buffer.committed(plan.commits);
      } catch (err) {
        const type = (err as { type?: string }).type ?? '';
        if (!LOST_ON_COMMIT.has(type) && !/not (a )?member|rebalanc|generation/i.test(errorMessage(err))) {
          throw toKafkaError(err, `committing offsets of group '${this.c.group}'`);
        }
        for (const x of plan.commits) lost.add(x.partition);
      }
    }
    if (lost.size > 0) throw new StreamPartitionLostError(this.c.topic, this.c.group, [...lost].sort((a, b) => a - b));
  }

  async lag(): Promise<number> {
    this.checkOpen();
    try {
      const [ends, committed] = await Promise.all([this.c.admin.fetchTopicOffsets(this.c.kafkaTopic), this.committedOffsets()]);
      let lag = 0;
      for (const e of ends) {
        const c = committed.get(e.partition) ?? -1;
        lag += Math.max(0, Number(e.high) - (c >= 0 ? c : Number(e.low)));
      }
      return lag;
    } catch (err) {
      throw toKafkaError(err, `reading the lag of group '${this.c.group}'`);
    }
  }

  /** Leaves the group: its partitions go to the other members, from their committed offsets. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.data.notify();
    try {
      await this.consumer.disconnect();
    } catch (err) {
      this.c.logger?.warn({ groupId: this.c.groupId, err: errorMessage(err) }, 'Kafka consumer did not disconnect cleanly');
    } finally {
      this.c.onClose();
    }
  }

  private take(limit: number, out: StreamMessage[]): void {
    const { messages, resume } = this.buffer.take(limit - out.length);
    for (const m of messages) out.push(m);
    if (resume.length > 0) this.consumer.resume([{ topic: this.c.kafkaTopic, partitions: resume }]);
  }

  /** Whether the assigned partitions hold records not fetched yet (or a rebalance is under way). */
  private async behind(): Promise<boolean> {
    if (!this.buffer.isHanding()) return true;
    const parts = this.buffer.assigned();
    if (parts.length === 0) return false;
    try {
      const ends = new Map((await this.c.admin.fetchTopicOffsets(this.c.kafkaTopic)).map((e) => [e.partition, e]));
      let committed: Map<number, number> | undefined;
      for (const p of parts) {
        const end = ends.get(p);
        if (!end) continue;
        let next = this.buffer.nextOf(p);
        if (next === undefined) {
          committed ??= await this.committedOffsets();
          const c = committed.get(p) ?? -1;
          next = c >= 0 ? c : Number(end.low);
        }
        if (Number(end.high) > next) return true;
      }
      return false;
    } catch (err) {
      this.c.logger?.warn({ groupId: this.c.groupId, err: errorMessage(err) }, 'could not read Kafka end offsets');
      return false;
    }
  }

  private async committedOffsets(): Promise<Map<number, number>> {
    const groups = await this.c.admin.fetchOffsets({ groupId: this.c.groupId, topics: [this.c.kafkaTopic] });
    return new Map((groups[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  }

  private async onBatch({ batch, resolveOffset, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (this.closed || !isRunning() || isStale() || batch.messages.length === 0) return;
    const full = this.buffer.push(batch.partition, batch.messages);
    resolveOffset(batch.lastOffset());
    this.data.notify();
    if (full) this.consumer.pause([{ topic: this.c.kafkaTopic, partitions: [batch.partition] }]);
  }


  private checkOpen(): void {
    if (this.closed) throw new StreamClosedError(`the subscription of group '${this.c.group}' to '${this.c.topic}'`);
  }
}
