import type { Clock } from '../common/clock.ts';
import { partitionFor } from './partition.ts';
import type { OutgoingMessage, PartitionProgress, Stream, StreamMessage, SubscribeOptions, Subscription } from './port.ts';

/** Runs before a publish is appended; throwing (or rejecting) makes the publish fail with nothing appended. */
export type PublishHook = (topic: string, messages: OutgoingMessage[]) => void | Promise<void>;

/** Options of {@link MemoryStream}. */
export interface MemoryStreamOptions {
  /** Partitions per topic, or a function of the topic name. @default 1 */
  partitions?: number | ((topic: string) => number);
  /** Source of message timestamps. @default Date.now */
  clock?: Clock;
  /** Name shown in the url (`memory://NAME`). @default 'default' */
  name?: string;
  /** Fault injection for tests: see {@link PublishHook}. */
  beforePublish?: PublishHook;
}

interface GroupState {
  /** Per partition: offsets below this are committed. */
  committed: number[];
  /** Per partition: offsets below this have been handed out to some consumer of the group. */
  delivered: number[];
}

interface TopicState {
  partitions: StreamMessage[][];
  /** Every message in append order, for test assertions. */
  log: StreamMessage[];
  groups: Map<string, GroupState>;
  waiters: Set<() => void>;
}

/**
 * TEST DOUBLE: an in-memory {@link Stream} (like OpenTelemetry's in-memory exporter) for unit
 * tests and examples. Nothing is durable. It keeps the port's semantics so that code tested
 * against it behaves the same on a real backend: messages are partitioned by key with
 * {@link partitionFor}; each consumer group has committed offsets per partition; `fetch` hands
 * each message to one consumer of a group once; `ack` commits up to the acknowledged offsets;
 * a subscription closed with unacknowledged messages gives them back to its group (at-least-once:
 * messages handed to other consumers after them may then be delivered twice).
 */
export class MemoryStream implements Stream {
  readonly url: string;
  /** Publish calls made, including failed ones. */
  publishCalls = 0;
  /** Replaceable fault injection hook (see {@link PublishHook}). */
  beforePublish: PublishHook | undefined;

  private readonly topicsByName = new Map<string, TopicState>();
  private readonly subscriptions = new Set<MemorySubscription>();
  private readonly partitionsOf: (topic: string) => number;
  private readonly clock: Clock | undefined;
  private closed = false;

  constructor(opts: MemoryStreamOptions = {}) {
    this.url = `memory://${opts.name ?? 'default'}`;
    const p = opts.partitions ?? 1;
    this.partitionsOf = typeof p === 'function' ? p : () => p;
    if (typeof p === 'number') checkPartitions(p);
    this.clock = opts.clock;
    this.beforePublish = opts.beforePublish;
  }

  async publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    this.publishCalls += 1;
    if (this.closed) throw new Error(`stream ${this.url} is closed`);
    if (typeof topic !== 'string' || topic === '') throw new TypeError('topic must be a non-empty string');
    if (!Array.isArray(messages)) throw new TypeError('messages must be an array');
    messages.forEach((m, i) => {
      if (typeof m?.key !== 'string' || typeof m.value !== 'string') {
        throw new TypeError(`messages[${i}] needs a string key and a string value`);
      }
    });
    if (this.beforePublish) await this.beforePublish(topic, messages);
    if (this.closed) throw new Error(`stream ${this.url} is closed`);
    const state = this.topic(topic);
    const timestamp = this.clock ? this.clock.now() : Date.now();
    for (const m of messages) {
      const partition = partitionFor(m.key, state.partitions.length);
      const log = state.partitions[partition]!;
      const msg: StreamMessage = { topic, partition, offset: String(log.length), key: m.key, value: m.value, timestamp };
      log.push(msg);
      state.log.push(msg);
    }
    if (messages.length > 0) for (const wake of [...state.waiters]) wake();
  }

  async subscribe(topic: string, group: string, opts: SubscribeOptions = {}): Promise<Subscription> {
    if (this.closed) throw new Error(`stream ${this.url} is closed`);
    if (typeof group !== 'string' || group === '') throw new TypeError('group must be a non-empty string');
    const state = this.topic(topic);
    let g = state.groups.get(group);
    if (!g) {
      // A new group starts at the oldest message, or after the newest with from: 'latest'.
      const start = state.partitions.map((p) => (opts.from === 'latest' ? p.length : 0));
      g = { committed: [...start], delivered: [...start] };
      state.groups.set(group, g);
    }
    const sub = new MemorySubscription(topic, state, g, (s) => this.subscriptions.delete(s));
    this.subscriptions.add(sub);
    return sub;
  }

  async progress(topic: string, group: string): Promise<PartitionProgress[]> {
    const state = this.topic(topic);
    const g = state.groups.get(group);
    return state.partitions.map((log, partition) => {
      const committed = g?.committed[partition] ?? 0;
      return { partition, published: log.length > 0 ? String(log.length - 1) : undefined, acknowledged: committed > 0 ? String(committed - 1) : undefined };
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.close()));
  }

  /** Every message of a topic in append order (test helper). */
  messages(topic: string): StreamMessage[] {
    return [...(this.topicsByName.get(topic)?.log ?? [])];
  }

  /** Topics that have been published to or subscribed to (test helper). */
  topicNames(): string[] {
    return [...this.topicsByName.keys()];
  }

  private topic(name: string): TopicState {
    let t = this.topicsByName.get(name);
    if (!t) {
      const n = checkPartitions(this.partitionsOf(name));
      t = { partitions: Array.from({ length: n }, () => []), log: [], groups: new Map(), waiters: new Set() };
      this.topicsByName.set(name, t);
    }
    return t;
  }
}

function checkPartitions(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`partitions must be a whole number >= 1, got ${String(n)}`);
  return n;
}

/** One consumer of a group on a {@link MemoryStream} topic. */
class MemorySubscription implements Subscription {
  /** Per partition: offsets handed to this consumer and not yet committed. */
  private readonly held: number[][];
  private closed = false;
  private nextPartition = 0;
  private readonly wakers = new Set<() => void>();

  constructor(
    private readonly topicName: string,
    private readonly state: TopicState,
    private readonly group: GroupState,
    private readonly onClose: (s: MemorySubscription) => void,
  ) {
    this.held = state.partitions.map(() => []);
  }

  async fetch(max: number, waitMs = 0): Promise<StreamMessage[]> {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`max must be a whole number >= 1, got ${String(max)}`);
    const out = this.take(max);
    if (out.length > 0 || waitMs <= 0 || this.closed) return out;
    await new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.state.waiters.delete(wake);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, waitMs);
      this.state.waiters.add(wake);
      this.wakers.add(wake);
    });
    return this.take(max);
  }

  async ack(messages: StreamMessage[]): Promise<void> {
    const upTo = new Map<number, number>();
    for (const m of messages) {
      if (m.topic !== this.topicName) throw new Error(`cannot ack a message of topic '${m.topic}' on '${this.topicName}'`);
      const offset = Number(m.offset);
      if (offset >= (this.group.delivered[m.partition] ?? 0)) {
        throw new Error(`cannot ack offset ${m.offset} of partition ${m.partition}: it was not handed out`);
      }
      upTo.set(m.partition, Math.max(upTo.get(m.partition) ?? -1, offset));
    }
    for (const [p, offset] of upTo) {
      this.group.committed[p] = Math.max(this.group.committed[p] ?? 0, offset + 1);
    }
    this.held.forEach((h, p) => {
      const c = this.group.committed[p] ?? 0;
      this.held[p] = h.filter((o) => o >= c);
    });
  }

  async lag(): Promise<number> {
    return this.state.partitions.reduce((sum, p, i) => sum + p.length - (this.group.committed[i] ?? 0), 0);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Unacknowledged messages go back to the group so another consumer gets them.
    this.held.forEach((h, p) => {
      const c = this.group.committed[p] ?? 0;
      const pending = h.filter((o) => o >= c);
      if (pending.length > 0) this.group.delivered[p] = Math.min(this.group.delivered[p] ?? 0, Math.min(...pending));
    });
    for (const wake of [...this.wakers]) wake();
    this.onClose(this);
  }

  private take(max: number): StreamMessage[] {
    if (this.closed) return [];
    const out: StreamMessage[] = [];
    const n = this.state.partitions.length;
    // Rotate the starting partition so one busy partition cannot starve the others.
    for (let k = 0; k < n && out.length < max; k++) {
      const p = (this.nextPartition + k) % n;
      const log = this.state.partitions[p]!;
      while (out.length < max && (this.group.delivered[p] ?? 0) < log.length) {
        const offset = this.group.delivered[p] ?? 0;
        out.push(log[offset]!);
        this.held[p]!.push(offset);
        this.group.delivered[p] = offset + 1;
      }
    }
    this.nextPartition = (this.nextPartition + 1) % n;
    return out;
  }
}
