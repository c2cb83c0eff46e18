import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { Kafka, logLevel, type Admin, type LogEntry, type Producer, type SASLOptions } from 'kafkajs';
import { EventTooLargeError, ValidationError } from '../../common/errors.ts';
import { byPartition, checkMessages, cutRuns } from '../batching.ts';
import { StreamClosedError, StreamGroupBusyError } from '../errors.ts';
import { partitionFor } from '../partition.ts';
import type { OutgoingMessage, PartitionProgress, Stream, SubscribeOptions, Subscription } from '../port.ts';
import { isMessageTooLarge, toKafkaError, type KafkaLogger } from './kafka-errors.ts';
import { kafkaName, modelwatchPartitioner } from './kafka-partitioner.ts';
import { KafkaSubscription, type KafkaConsumerTimings } from './kafka-subscription.ts';
import { parseKafkaUrl, type KafkaUrl } from './kafka-url.ts';

/** Partitions of a topic created without `?partitions=`. */
export const DEFAULT_KAFKA_PARTITIONS = 8;

/** Options of {@link KafkaStream.connect}. */
export interface KafkaStreamOptions extends Partial<KafkaConsumerTimings> {
  /** `kafka://host:9092[,host:9092][?partitions=N&replication=R&clientId=ID&namespace=NAME&ssl=true&sasl=...]`. */
  url: string;
  /** Partitions of topics this client creates; overrides the URL. */
  partitions?: number;
  /** Overrides the URL's namespace. */
  namespace?: string;
  /** Names this client (Kafka client id suffix, for operators). @default host:pid:random */
  ownerId?: string;
  /** Messages per produce request per partition. @default 10000 */
  maxBatchEvents?: number;
  /** Estimated bytes per produce request per partition (keep under the broker's message.max.bytes). @default 512 KiB */
  maxBatchBytes?: number;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  logger?: KafkaLogger;
}

const DEFAULT_TIMINGS: KafkaConsumerTimings = {
  sessionTimeoutMs: 10_000,
  heartbeatIntervalMs: 1000,
  rebalanceTimeoutMs: 30_000,
  joinTimeoutMs: 30_000,
  highWaterEvents: 10_000,
  maxWaitTimeMs: 500,
  settleWaitMs: 2000,
};

/**
 * The stream on Apache Kafka, through kafkajs. A topic is a Kafka topic (created on first use with N
 * partitions, `<namespace>.` prefixed when namespaced); keys go to partitions with the shared
 * {@link partitionFor}; publishes are sent by an idempotent producer with acks from all in-sync
 * replicas. Consumer groups are Kafka consumer groups (id `<group>.<topic>`), with offsets committed
 * only on `ack`. Delivery is at least once; offsets are Kafka's, per partition.
 */
export class KafkaStream implements Stream {
  readonly url: string;
  readonly ownerId: string;
  private readonly kafka: Kafka;
  private readonly admin: Admin;
  private readonly cfg: KafkaUrl;
  private readonly namespace: string | undefined;
  private readonly requested: number | undefined;
  private readonly timings: KafkaConsumerTimings;
  private readonly maxBatchEvents: number;
  private readonly maxBatchBytes: number;
  private readonly logger: KafkaLogger | undefined;
  private readonly topicsKnown = new Map<string, Promise<number>>();
  private readonly active = new Map<string, KafkaSubscription>();
  private producer: Promise<Producer> | undefined;
  private closed = false;

  private constructor(kafka: Kafka, admin: Admin, cfg: KafkaUrl, opts: KafkaStreamOptions, ownerId: string) {
    this.kafka = kafka;
    this.admin = admin;
    this.cfg = cfg;
    this.url = opts.url.replace(/^(kafka:\/\/)[^@/?#]*@/i, '$1***@');
    this.ownerId = ownerId;
    this.namespace = opts.namespace ?? cfg.namespace;
    this.requested = opts.partitions ?? cfg.partitions;
    const t = { ...DEFAULT_TIMINGS };
    for (const k of Object.keys(DEFAULT_TIMINGS) as (keyof KafkaConsumerTimings)[]) {
      const v = opts[k];
      if (v !== undefined) t[k] = positive(k, v);
    }
    this.timings = t;
    this.maxBatchEvents = positive('maxBatchEvents', opts.maxBatchEvents ?? 10_000);
    this.maxBatchBytes = positive('maxBatchBytes', opts.maxBatchBytes ?? 512 * 1024);
    this.logger = opts.logger;
  }

  /**
   * Connects the admin client to the brokers of `opts.url`.
   * @throws ValidationError for a bad URL or option, StreamUnavailableError when no broker answers.
   */
  static async connect(opts: KafkaStreamOptions): Promise<KafkaStream> {
    const cfg = parseKafkaUrl(opts.url);
    if (opts.partitions !== undefined && (!Number.isInteger(opts.partitions) || opts.partitions < 1)) {
      throw new ValidationError(`partitions must be a whole number >= 1, got ${String(opts.partitions)}`);
    }
    const ownerId = opts.ownerId ?? `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    const logger = opts.logger;
    const kafka = new Kafka({
      clientId: `${cfg.clientId}-${ownerId.replace(/[^A-Za-z0-9._-]/g, '_')}`.slice(0, 200),
      brokers: cfg.brokers,
      ssl: cfg.ssl,
      ...(cfg.sasl ? { sasl: cfg.sasl as SASLOptions } : {}),
      connectionTimeout: opts.connectTimeoutMs ?? 5000,
      requestTimeout: opts.requestTimeoutMs ?? 30_000,
      retry: { retries: 5, initialRetryTime: 200 },
      logLevel: logger ? logLevel.WARN : logLevel.NOTHING,
      logCreator: () => (entry: LogEntry) => {
        if (entry.level <= logLevel.WARN) logger?.warn({ kafka: entry.namespace, ...entry.log }, entry.log.message);
      },
    });
    const admin = kafka.admin();
    try {
      await admin.connect();
    } catch (err) {
      throw toKafkaError(err, `connecting to ${cfg.brokers.join(',')}`);
    }
    return new KafkaStream(kafka, admin, cfg, opts, ownerId);
  }

  /** The partition count of `topic` (creating the Kafka topic if needed). */
  async partitionsOf(topic: string): Promise<number> {
    this.checkOpen();
    return this.ensureTopic(kafkaName(topic, this.namespace));
  }

  /**
   * Appends the messages; resolves once every in-sync replica has them. Per partition, messages
   * are sent in order in requests of bounded size. Not atomic across requests: when it rejects,
   * some messages may be stored (the idempotent producer never stores one request twice). A request
   * the broker refuses as too large is sent again in halves; a message it refuses alone is left
   * out, the others are published, then the call rejects with EventTooLargeError naming the
   * refused ones (`indexes`).
   */
  async publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    this.checkOpen();
    const name = kafkaName(topic, this.namespace);
    checkMessages(topic, messages, (msg) => new ValidationError(msg));
    if (messages.length === 0) return;
    const n = await this.ensureTopic(name);
    const producer = await this.getProducer();
    const parts = byPartition(
      messages.map((m, i) => ({ key: m.key, value: m.value, i })),
      (key) => partitionFor(key, n),
    );
    const refused: number[] = [];
    try {
      await Promise.all(
        [...parts].map(async ([partition, list]) => {
          for (const run of cutRuns(list, this.maxBatchEvents, this.maxBatchBytes)) await this.send(producer, name, partition, run, refused);
        }),
      );
    } catch (err) {
      throw toKafkaError(err, `publishing to '${topic}'`);
    }
    if (refused.length > 0) {
      refused.sort((a, b) => a - b);
      throw new EventTooLargeError(
        `${refused.length === 1 ? 'a stream message' : `${refused.length} stream messages`} larger than the Kafka broker takes (MESSAGE_TOO_LARGE) cannot be published ` +
          `(the first: ${Buffer.byteLength(messages[refused[0]!]!.value)} bytes); the others were`,
        { indexes: refused },
      );
    }
  }

  /** Sends one run of a partition's messages, in halves when the broker finds it too large; the place of a message refused alone goes to `refused`. */
  private async send(producer: Producer, topic: string, partition: number, run: { key: string; value: string; i: number }[], refused: number[]): Promise<void> {
    try {
      await producer.send({ topic, acks: -1, messages: run.map((m) => ({ key: m.key, value: m.value, partition })) });
    } catch (err) {
      if (!isMessageTooLarge(err)) throw err;
      if (run.length === 1) {
        refused.push(run[0]!.i);
        return;
      }
      const half = Math.ceil(run.length / 2);
      await this.send(producer, topic, partition, run.slice(0, half), refused);
      await this.send(producer, topic, partition, run.slice(half), refused);
    }
  }

  /**
   * Joins consumer group `group` of `topic` (Kafka group id `<group>.<topic>`, namespaced). A new group
   * starts at the oldest message, or after the newest with `from: 'latest'`. Resolves once Kafka
   * assigned this member its partitions (or after `joinTimeoutMs`).
   * @throws StreamGroupBusyError when this handle already has a subscription to the group.
   */
  async subscribe(topic: string, group: string, opts: SubscribeOptions = {}): Promise<Subscription> {
    this.checkOpen();
    const kafkaTopic = kafkaName(topic, this.namespace);
    const groupId = kafkaName(`${group}.${topic}`, this.namespace);
    const key = JSON.stringify([topic, group]);
    if (this.active.has(key)) throw new StreamGroupBusyError(topic, group, this.ownerId, 0);
    await this.ensureTopic(kafkaTopic);
    if (opts.from === 'latest') await this.startNewGroupAtEnd(groupId, kafkaTopic);
    const sub: KafkaSubscription = new KafkaSubscription({
      kafka: this.kafka,
      admin: this.admin,
      kafkaTopic,
      topic,
      group,
      groupId,
      timings: this.timings,
      ...(this.logger ? { logger: this.logger } : {}),
      onClose: () => {
        if (this.active.get(key) === sub) this.active.delete(key);
      },
    });
    this.active.set(key, sub);
    try {
      await sub.start(opts.from ?? 'earliest');
    } catch (err) {
      await sub.close().catch(() => undefined);
      throw err;
    }
    return sub;
  }

  /**
   * Per partition: the last offset below the high watermark (none when the partition holds no
   * record: empty, or emptied by retention) and the group's committed offset less one (Kafka
   * commits the next offset to read). The end offsets are read first (see `Stream.progress`).
   */
  async progress(topic: string, group: string): Promise<PartitionProgress[]> {
    this.checkOpen();
    const kafkaTopic = kafkaName(topic, this.namespace);
    const groupId = kafkaName(`${group}.${topic}`, this.namespace);
    await this.ensureTopic(kafkaTopic);
    try {
      const ends = await this.admin.fetchTopicOffsets(kafkaTopic);
      const [offsets] = await this.admin.fetchOffsets({ groupId, topics: [kafkaTopic] });
      const committed = new Map((offsets?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
      return ends
        .map((e) => {
          const high = Number(e.high);
          const next = committed.get(e.partition) ?? -1;
          return { partition: e.partition, published: high > Number(e.low) ? String(high - 1) : undefined, acknowledged: next > 0 ? String(next - 1) : undefined };
        })
        .sort((a, b) => a.partition - b.partition);
    } catch (err) {
      throw toKafkaError(err, `reading the progress of group '${group}' on '${topic}'`);
    }
  }

  /** Leaves every group and disconnects. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.active.values()].map((s) => s.close().catch(() => undefined)));
    this.active.clear();
    const producer = await this.producer?.catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    await this.admin.disconnect().catch(() => undefined);
  }

  /** Kafka topic and group names this handle uses for a modelwatch topic and group (for operators and tests). */
  namesOf(topic: string, group?: string): { topic: string; groupId?: string } {
    return { topic: kafkaName(topic, this.namespace), ...(group ? { groupId: kafkaName(`${group}.${topic}`, this.namespace) } : {}) };
  }

  /** A group that never committed starts after the current end: its offsets are set there before it first joins. */
  private async startNewGroupAtEnd(groupId: string, kafkaTopic: string): Promise<void> {
    try {
      const [current] = await this.admin.fetchOffsets({ groupId, topics: [kafkaTopic] });
      if ((current?.partitions ?? []).some((p) => Number(p.offset) >= 0)) return;
      const ends = await this.admin.fetchTopicOffsets(kafkaTopic);
      await this.admin.setOffsets({ groupId, topic: kafkaTopic, partitions: ends.map((e) => ({ partition: e.partition, offset: e.high })) });
    } catch (err) {
      // The group became active meanwhile (another member joined first): it already has a position.
      this.logger?.warn({ groupId, err: String(err) }, 'could not set the starting offsets of a new Kafka group');
    }
  }

  private ensureTopic(name: string): Promise<number> {
    let p = this.topicsKnown.get(name);
    if (!p) {
      p = this.createTopic(name);
      p.catch(() => this.topicsKnown.delete(name));
      this.topicsKnown.set(name, p);
    }
    return p;
  }

  private async createTopic(name: string): Promise<number> {
    let n: number;
    try {
      await this.admin.createTopics({
        topics: [{ topic: name, numPartitions: this.requested ?? DEFAULT_KAFKA_PARTITIONS, replicationFactor: this.cfg.replication }],
        waitForLeaders: true,
      });
      const meta = await this.admin.fetchTopicMetadata({ topics: [name] });
      n = meta.topics[0]?.partitions.length ?? 0;
    } catch (err) {
      throw toKafkaError(err, `creating topic '${name}'`);
    }
    if (n < 1) throw new ValidationError(`Kafka topic '${name}' has no partitions`);
    if (this.requested !== undefined && this.requested !== n) {
      throw new ValidationError(`Kafka topic '${name}' has ${n} partitions; it cannot be opened with ${this.requested}`, { stored: n, requested: this.requested });
    }
    return n;
  }

  private getProducer(): Promise<Producer> {
    if (!this.producer) {
      const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: modelwatchPartitioner });
      this.producer = producer.connect().then(
        () => producer,
        (err: unknown) => {
          this.producer = undefined;
          throw toKafkaError(err, 'connecting the producer');
        },
      );
    }
    return this.producer;
  }

  private checkOpen(): void {
    if (this.closed) throw new StreamClosedError(`the stream '${this.url}'`);
  }
}

function positive(what: string, n: number): number {
  if (!(n > 0) || !Number.isFinite(n)) throw new ValidationError(`${what} must be a positive number, got ${String(n)}`);
  return n;
}
