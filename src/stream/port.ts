import type { EventBatch } from '../tracking/event-batch.ts';

/**
 * A partitioned, durable message stream with consumer groups. Messages are partitioned by
 * key (the endpoint id for inference events). Offsets are committed only by `ack`, after
 * the consumer's writes are committed, so nothing acknowledged is ever lost.
 */
export interface Stream {
  readonly url: string;
  /**
   * Largest event, in bytes of UTF-8, that one message of this stream holds, where the stream takes
   * less than ingest does (NATS: its server's max_payload less the pack's framing); the tracker
   * splits requests into events of at most this (see tracking/request-events.ts). Absent: no limit
   * of its own below ingest's.
   */
  readonly maxEventBytes?: number;
  /**
   * Appends the messages. A message the stream can never take (larger than its server allows)
   * makes it reject with `EventTooLargeError` once every other message of the call is stored,
   * `indexes` naming the refused ones; any other failure is worth retrying.
   */
  publish(topic: string, messages: OutgoingMessage[]): Promise<void>;
  /**
   * Publishes tracked events handed over as numbers (see tracking/event-batch.ts): the same as
   * `publish(topic, decodeEventBatch(batch))`, with the encoding done where it costs the caller
   * least (the embedded log: on its writer thread; NATS: packed straight from the numbers on its
   * packing thread). The batch is the stream's from then on (its
   * own numbers may be moved to a thread and `nums` left detached), except numbers in shared memory
   * (the tracker's, published in place): those are read before the returned promise settles, and
   * not kept, as the tracker writes them again after that. Absent where there is no such place;
   * a tracker then encodes each event when it is tracked and keeps no numbers.
   */
  publishEvents?(topic: string, batch: EventBatch): Promise<void>;
  subscribe(topic: string, group: string, opts?: SubscribeOptions): Promise<Subscription>;
  /**
   * Per partition of `topic`, as the stream knows it now: the offset of the last event published
   * to it and the last offset consumer group `group` acknowledged (with every event before it). A
   * caller that reads this at some time and later finds `acknowledged` at or past that `published`
   * on every partition knows the group handled everything published before the first read,
   * whichever members hold which partitions, with no clock compared (see the controller's watermark).
   */
  progress(topic: string, group: string): Promise<PartitionProgress[]>;
  /**
   * Retention: deletes messages appended more than `olderThanMs` ago that every consumer group of
   * their topic has acknowledged; a topic no group reads keeps its messages, and a group that starts
   * afterwards from the earliest message starts at the oldest one kept. Returns how many events
   * went. Absent where the server applies its own retention (Kafka: the topic's `retention.ms`).
   */
  truncate?(opts: { olderThanMs: number }): Promise<number>;
  close(): Promise<void>;
}

export interface OutgoingMessage {
  key: string;
  value: string;
}

export interface StreamMessage {
  topic: string;
  partition: number;
  /** Monotonic within a partition; compare with {@link compareOffsets}. */
  offset: string;
  key: string;
  value: string;
  /** Epoch ms when appended. */
  timestamp: number;
}

/** One partition's line in {@link Stream.progress}. */
export interface PartitionProgress {
  partition: number;
  /** Offset of the last event published to the partition; undefined while it has none (or retention removed them all). */
  published: string | undefined;
  /** Offset of the last event the group acknowledged, every event before it too; undefined before its first. */
  acknowledged: string | undefined;
}

/** Whether `group` acknowledged every event of `at` (a {@link Stream.progress} read earlier) by `now` (a later read). */
export function caughtUp(at: readonly PartitionProgress[], now: readonly PartitionProgress[]): boolean {
  const acked = new Map(now.map((p) => [p.partition, p.acknowledged]));
  return at.every((p) => {
    if (p.published === undefined) return true;
    const a = acked.get(p.partition);
    return a !== undefined && compareOffsets(a, p.published) >= 0;
  });
}

export interface SubscribeOptions {
  /** Where a new group starts: the oldest message (default) or only new ones. */
  from?: 'earliest' | 'latest';
}

export interface Subscription {
  /**
   * Messages to ask one fetch for when the caller parses as it reads. A fetch that is a local read
   * (the embedded log) makes its messages only when asked, so small fetches keep few of them alive
   * at once; one over a network buffers what the server sent anyway, and each short fetch may wait
   * on the server. Undefined: fetch whole batches.
   */
  readonly readChunk?: number;
  /** Up to `max` messages not yet handed out; waits up to `waitMs` (real time) when there are none. */
  fetch(max: number, waitMs?: number): Promise<StreamMessage[]>;
  /** Commits every message handed out up to and including these. */
  ack(messages: StreamMessage[]): Promise<void>;
  /** Messages appended and not yet acknowledged by this group (stream lag). */
  lag(): Promise<number>;
  close(): Promise<void>;
}

export function compareOffsets(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Topic names: one set per project. */
export const topics = {
  events: (project: string) => `mw.${project}.events`,
  app: (project: string, app: string) => `mw.${project}.app.${app}`,
  writer: (project: string) => `mw.${project}.writer`,
};
