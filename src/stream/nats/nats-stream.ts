import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { EventTooLargeError, ValidationError } from '../../common/errors.ts';
import { byPartition, checkMessages } from '../batching.ts';
import { StreamClosedError, StreamGroupBusyError } from '../errors.ts';
import { partitionFor } from '../partition.ts';
import type { OutgoingMessage, PartitionProgress, Stream, SubscribeOptions, Subscription } from '../port.ts';
import { GroupRecords, RecordConflict } from './group-records.ts';
import { readTail, StreamCatalog } from './nats-catalog.ts';
import { openNatsLink, type NatsLink } from './nats-connection.ts';
import { metaStreamOf, partitionSubject, placeGroup, placeTopic, type TopicPlace } from './nats-names.ts';
import { truncateNatsStream } from './nats-retention.ts';
import { startStreamRetention, type StreamRetention } from '../retention.ts';
import { NatsSubscription, type MemberTimings } from './nats-subscription.ts';
import { parseNatsUrl } from './nats-url.ts';
import type { ReaderLogger } from './partition-reader.ts';
import { fitsAlone, maxBodyBytes, SubjectWriter, type PackLimits } from './subject-writer.ts';
import { decodeEventBatch, type EventBatch } from '../../tracking/event-batch.ts';
import { ThreadClient } from '../../common/worker-thread.ts';
import { StreamUnavailableError } from '../errors.ts';
import { natsEventPacks, type NatsPackRequest, type NatsPacked } from './nats-event-packs.ts';
import { moduleUrl } from '../../common/module-url.ts';

/** Options of {@link NatsStream.connect}. */
export interface NatsStreamOptions extends Partial<MemberTimings> {
  /** `nats://host:port[,host:port][?partitions=N&namespace=NAME&replicas=R]`. */
  url: string;
  /** Partitions of streams this client creates; overrides the URL. Existing streams keep theirs (a different explicit count is an error). */
  partitions?: number;
  /** Overrides the URL's namespace. */
  namespace?: string;
  /** Names this member in consumer groups; must be unique among live members. A restarted member with the same id takes its partitions back at once. @default host:pid:random */
  ownerId?: string;
  /** Events per pack. @default 2000 */
  maxPackEvents?: number;
  /** Estimated bytes per pack. @default 512 KiB (capped by the server's max_payload) */
  maxPackBytes?: number;
  /** How long a publish keeps retrying through timeouts and reconnects. @default 30000 */
  publishTimeoutMs?: number;
  connectTimeoutMs?: number;
  apiTimeoutMs?: number;
  logger?: ReaderLogger;
  /** Background retention: acknowledged events older than `keepMs` are truncated every `intervalMs` (see {@link NatsStream.truncate}). @default none */
  retention?: StreamRetention;
  /**
   * Pack tracked events (`publishEvents`) on a thread of this handle's own, off the publishing
   * event loop, once it runs (see {@link NatsStream.publishEvents}); false: on the caller's thread.
   * @default true
   */
  packThread?: boolean;
}

const DEFAULT_TIMINGS: MemberTimings = {
  leaseTtlMs: 15_000,
  heartbeatMs: 1000,
  joinWaitMs: 150,
  tickMs: 250,
  settleWaitMs: 2000,
  drainTimeoutMs: 30_000,
  ackWaitMs: 60_000,
  pullExpiresMs: 5000,
  pullPacks: 32,
  highWaterEvents: 10_000,
};

/**
 * The stream on NATS JetStream. Topics `mw.<project>.*` live in the JetStream stream
 * `MW_<project>` (subjects `mw.<project>.>`), other topics in a stream per first token; partition
 * `p` of a topic is the subject `<topic>.p<p>`, with `p = partitionFor(key, N)` and N recorded on
 * the stream. Publishes pack many events into one JetStream message and coalesce concurrent calls
 * per partition; offsets count events per partition. Consumer groups share partitions among their
 * live members through compare-and-set group records (lease + committed offset) and read each
 * partition through a durable pull consumer. Delivery is at least once: what a member handed out
 * and did not acknowledge goes to the partition's next owner.
 */
export class NatsStream implements Stream {
  readonly url: string;
  /**
   * The largest event one message holds: the server's max_payload less 2 KiB, room for the
   * message's headers and the index of a pack of one event (see `fitsAlone`), each under 1 KiB.
   */
  readonly maxEventBytes: number;
  readonly ownerId: string;
  private readonly link: NatsLink;
  private readonly namespace: string | undefined;
  private readonly catalog: StreamCatalog;
  private readonly timings: MemberTimings;
  private readonly limits: PackLimits;
  private readonly logger: ReaderLogger | undefined;
  private readonly writers = new Map<string, SubjectWriter>();
  private readonly active = new Map<string, NatsSubscription>();
  private readonly producerId = randomUUID().replace(/-/g, '').slice(0, 16);
  private packCounter = 0;
  private closed = false;
  private readonly stopRetention: (() => void) | undefined;
  private readonly usePackThread: boolean;
  private packer: ThreadClient<NatsPackRequest, NatsPacked | undefined> | undefined;

  private constructor(link: NatsLink, opts: NatsStreamOptions, namespace: string | undefined, partitions: number | undefined, replicas: number) {
    this.link = link;
    this.url = opts.url.replace(/^(nats:\/\/)[^@/?#]*@/i, '$1***@');
    this.ownerId = opts.ownerId ?? `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.namespace = namespace;
    this.catalog = new StreamCatalog(link, partitions, replicas);
    const t = { ...DEFAULT_TIMINGS };
    for (const k of Object.keys(DEFAULT_TIMINGS) as (keyof MemberTimings)[]) {
      const v = opts[k];
      if (v !== undefined) t[k] = positive(k, v);
    }
    t.pullExpiresMs = Math.max(1000, t.pullExpiresMs);
    this.timings = t;
    const maxPayload = link.nc.info?.max_payload ?? 1024 * 1024;
    this.limits = {
      maxEvents: positive('maxPackEvents', opts.maxPackEvents ?? 2000),
      maxBytes: Math.min(positive('maxPackBytes', opts.maxPackBytes ?? 512 * 1024), Math.floor(maxPayload / 2)),
      maxPayload,
      publishTimeoutMs: positive('publishTimeoutMs', opts.publishTimeoutMs ?? 30_000),
    };
    this.maxEventBytes = Math.max(1, maxPayload - 2048);
    this.logger = opts.logger;
    this.usePackThread = opts.packThread ?? true;
    this.stopRetention = startStreamRetention(this, opts.retention);
  }

  /**
   * Connects to the servers of `opts.url`.
   * @throws ValidationError for a bad URL or option, StreamUnavailableError when no server answers.
   */
  static async connect(opts: NatsStreamOptions): Promise<NatsStream> {
    const u = parseNatsUrl(opts.url);
    if (opts.partitions !== undefined && (!Number.isInteger(opts.partitions) || opts.partitions < 1)) {
      throw new ValidationError(`partitions must be a whole number >= 1, got ${String(opts.partitions)}`);
    }
    const namespace = opts.namespace ?? u.namespace;
    if (namespace !== undefined && !/^[A-Za-z0-9_-]{1,32}$/.test(namespace)) {
      throw new ValidationError(`namespace must be 1-32 letters, digits, '_' or '-', got '${namespace}'`);
    }
    const link = await openNatsLink(u, {
      ...(opts.connectTimeoutMs !== undefined ? { connectTimeoutMs: opts.connectTimeoutMs } : {}),
      ...(opts.apiTimeoutMs !== undefined ? { apiTimeoutMs: opts.apiTimeoutMs } : {}),
    });
    return new NatsStream(link, opts, namespace, opts.partitions ?? u.partitions, u.replicas);
  }

  /** The partition count of the stream that carries `topic` (creating the stream if needed). */
  async partitionsOf(topic: string): Promise<number> {
    this.checkOpen();
    return this.catalog.partitionsOf(placeTopic(topic, this.namespace));
  }

  /** The JetStream stream names of `topic`: data and group records (for operators and tests). */
  streamsOf(topic: string): { data: string; records: string } {
    const place = placeTopic(topic, this.namespace);
    return { data: place.stream, records: place.metaStream };
  }

  /**
   * Appends the messages; resolves once the server stored every one. Per key, order is kept
   * (within one call and across calls made one after another). Not atomic across partitions: when
   * it rejects, some messages may be stored, and a retry can store them again. A message too large
   * for a message of the server's max_payload alone is never sent: the others are published, then
   * the call rejects with EventTooLargeError naming the refused ones (`indexes`).
   */
  async publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    this.checkOpen();
    const place = placeTopic(topic, this.namespace);
    checkMessages(topic, messages, (msg) => new ValidationError(msg));
    if (messages.length === 0) return;
    const refused: number[] = [];
    for (let i = 0; i < messages.length; i++) if (!fitsAlone(messages[i]!, this.limits.maxPayload)) refused.push(i);
    const out = new Set(refused);
    const send = refused.length === 0 ? messages : messages.filter((_, i) => !out.has(i));
    if (send.length > 0) {
      const n = await this.catalog.partitionsOf(place);
      const parts = byPartition(send, (key) => partitionFor(key, n));
      await Promise.all([...parts].map(([p, list]) => this.writerFor(place, p).write(list)));
    }
    if (refused.length > 0) {
      const first = messages[refused[0]!]!;
      throw new EventTooLargeError(
        `${refused.length === 1 ? 'a stream message' : `${refused.length} stream messages`} larger than the NATS server's max_payload (${this.limits.maxPayload} bytes) allows ` +
          `cannot be published (the first: ${Buffer.byteLength(first.value)} bytes, key '${first.key.slice(0, 128)}'); the others were`,
        { indexes: refused, maxBytes: this.maxEventBytes },
      );
    }
  }

  /**
   * Publishes tracked events handed over as numbers (see tracking/event-batch.ts), as `publish` of
   * `decodeEventBatch(batch)` would: a batch of numeric events only is packed from the events'
   * middles (`knownEventPacks`), without the text of each event being put together and compared
   * with the others; any other batch, or one whose pack would pass the server's max_payload, is
   * published as its decoded events. The packing runs on a thread of this handle's own once it runs
   * (started by the first call; `packThread: false`: never), which answers the message bodies that
   * the event loop then publishes: in a serving process over NATS, packing on the event loop was
   * most of what tracking cost it per request (split CPU profile of `npm run bench -- serving
   * --backend postgres`: the encoding functions and the garbage they left, about 130 of 8,000 ms).
   * Calls are answered in the order made, so per key the order of calls made one after another is
   * kept. Until the thread runs, and after it has failed, the caller's thread packs.
   */
  async publishEvents(topic: string, batch: EventBatch): Promise<void> {
    this.checkOpen();
    const place = placeTopic(topic, this.namespace);
    if (batch.count === 0) return;
    const n = await this.catalog.partitionsOf(place);
    const req: NatsPackRequest = { batch, partitions: n, limits: { maxEvents: this.limits.maxEvents, maxChars: this.limits.maxBytes }, maxBodyBytes: maxBodyBytes(this.limits.maxPayload) };
    // The batch is copied to the thread, numbers in shared memory excepted (read there, before the
    // answer): the caller's own numbers stay readable here for the decoded fallback.
    const packer = this.startPacker();
    const packed = packer?.ready ? await packer.request(req) : natsEventPacks(req);
    if (!packed) return this.publish(topic, decodeEventBatch(batch));
    await Promise.all(packed.map(([p, packs]) => this.writerFor(place, p).writePacks(packs)));
  }

  /** This handle's packing thread, started on the first publish of tracked events (undefined: none). */
  private startPacker(): ThreadClient<NatsPackRequest, NatsPacked | undefined> | undefined {
    if (this.packer || !this.usePackThread) return this.packer;
    this.packer = new ThreadClient<NatsPackRequest, NatsPacked | undefined>({
      entry: moduleUrl('./nats-pack-thread.ts', import.meta.url),
      workerData: undefined,
      unavailable: (failure) => new StreamUnavailableError(this.url, `its packing thread stopped${failure ? `: ${failure.message}` : ''}`, failure),
      // The caller packs on its own thread from then on (the thread is no longer ready).
      onFailure: (err) => this.logger?.warn({ err: err.message }, 'the NATS stream packs on the event loop: its packing thread stopped'),
      stopTimeoutMs: 2000,
    });
    this.packer.start();
    return this.packer;
  }

  /** Starts the packing thread now rather than on the first publish of tracked events; settles once it runs (true) or cannot (false). */
  packThreadStarted(): Promise<boolean> {
    return this.startPacker()?.started ?? Promise.resolve(false);
  }

  /**
   * Joins consumer group `group` of `topic` as this handle's member. A new group starts at the
   * oldest message, or after the newest with `from: 'latest'`.
   * @throws StreamGroupBusyError when this handle already has a subscription to the group.
   */
  async subscribe(topic: string, group: string, opts: SubscribeOptions = {}): Promise<Subscription> {
    this.checkOpen();
    const place = placeTopic(topic, this.namespace);
    const names = placeGroup(place, group);
    const key = JSON.stringify([topic, group]);
    if (this.active.has(key)) throw new StreamGroupBusyError(topic, group, this.ownerId, 0);
    const partitions = await this.catalog.partitionsOf(place);
    const records = new GroupRecords(this.link, place.metaStream, topic);
    await Promise.all(Array.from({ length: partitions }, (_, p) => this.initRecord(records, place, names.record(p), p, opts.from ?? 'earliest')));
    this.checkOpen();
    if (this.active.has(key)) throw new StreamGroupBusyError(topic, group, this.ownerId, 0);
    const sub: NatsSubscription = new NatsSubscription({
      link: this.link,
      records,
      place,
      group,
      names,
      partitions,
      ownerId: this.ownerId,
      timings: this.timings,
      ...(this.logger ? { logger: this.logger } : {}),
      onClose: () => {
        if (this.active.get(key) === sub) this.active.delete(key);
      },
    });
    this.active.set(key, sub);
    try {
      await sub.start();
    } catch (err) {
      await sub.close().catch(() => undefined);
      throw err;
    }
    return sub;
  }

  /**
   * Per partition: the last offset from the subject's last pack (each pack carries the offset after
   * it), and the group's committed one from its record (`next`, the first offset not acknowledged),
   * whichever member holds the partition. The last offsets are read first (see `Stream.progress`).
   */
  async progress(topic: string, group: string): Promise<PartitionProgress[]> {
    this.checkOpen();
    const place = placeTopic(topic, this.namespace);
    const names = placeGroup(place, group);
    const partitions = await this.catalog.partitionsOf(place);
    const all = Array.from({ length: partitions }, (_, p) => p);
    const tails = await Promise.all(all.map((p) => readTail(this.link, place.stream, partitionSubject(place, p))));
    const records = new GroupRecords(this.link, place.metaStream, topic);
    const acked = await Promise.all(all.map((p) => records.read(names.record(p))));
    return all.map((partition) => {
      const next = tails[partition]!.next;
      const done = acked[partition]?.next ?? 0;
      return { partition, published: next > 0 ? String(next - 1) : undefined, acknowledged: done > 0 ? String(done - 1) : undefined };
    });
  }

  /**
   * Retention (see nats-retention.ts) over the JetStream streams this handle has published to or
   * subscribed from: removes messages appended (server time) more than `olderThanMs` ago that every
   * group of their topic has acknowledged, keeping each partition's last message. Returns how many
   * events went.
   */
  async truncate(opts: { olderThanMs: number }): Promise<number> {
    this.checkOpen();
    const cutoff = Date.now() - Math.max(0, opts.olderThanMs);
    let n = 0;
    for (const stream of this.catalog.streams()) n += await truncateNatsStream(this.link, stream, metaStreamOf(stream), this.namespace, cutoff);
    return n;
  }

  /** Closes every subscription (their partitions go back to the group) and the connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopRetention?.();
    await this.packer?.stop();
    await Promise.all([...this.active.values()].map((s) => s.close().catch(() => undefined)));
    this.active.clear();
    await this.link.nc.drain().catch(() => this.link.nc.close());
  }

  /** Creates the group's record of partition `p` if the group is new: at the start, or at the end for `latest`. */
  private async initRecord(records: GroupRecords, place: TopicPlace, subject: string, p: number, from: 'earliest' | 'latest'): Promise<void> {
    if (await records.read(subject)) return;
    const start = from === 'latest' ? await readTail(this.link, place.stream, partitionSubject(place, p)) : { seq: 0, next: 0 };
    try {
      await records.write(subject, 0, { owner: '', next: start.next, seq: start.seq + 1 });
    } catch (err) {
      if (!(err instanceof RecordConflict)) throw err;
    }
  }

  private writerFor(place: TopicPlace, p: number): SubjectWriter {
    const subject = partitionSubject(place, p);
    let w = this.writers.get(subject);
    if (!w) {
      w = new SubjectWriter(this.link, place.stream, subject, this.limits, () => `${this.producerId}.${++this.packCounter}`);
      this.writers.set(subject, w);
    }
    return w;
  }

  private checkOpen(): void {
    if (this.closed) throw new StreamClosedError(`the stream '${this.url}'`);
  }
}

function positive(what: string, n: number): number {
  if (!(n > 0) || !Number.isFinite(n)) throw new ValidationError(`${what} must be a positive number, got ${String(n)}`);
  return n;
}
