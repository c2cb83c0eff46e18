import { DiscardPolicy, RetentionPolicy, StorageType, type StreamConfig, type StreamInfo } from '@nats-io/jetstream';
import { ValidationError } from '../../common/errors.ts';
import { apiErrorCode, getStoredMessage, toStreamError, type NatsLink } from './nats-connection.ts';
import { nextOffsetAfter } from './nats-pack.ts';
import type { TopicPlace } from './nats-names.ts';

/** Partitions of a stream created without `?partitions=`. */
export const DEFAULT_NATS_PARTITIONS = 8;
const DESCRIPTION = 'modelwatch stream';
const NANOS_PER_MS = 1_000_000;

/** The last pack of a partition subject: its sequence and the offset after it. */
export interface Tail {
  seq: number;
  next: number;
  msgId: string | undefined;
}

/**
 * Creates the JetStream streams that carry topics, on first use, and remembers each one's partition
 * count. The count is recorded in the stream's description (`modelwatch stream; partitions=N`) so that
 * every client maps keys alike; asking for a different count than the recorded one is an error.
 */
export class StreamCatalog {
  private readonly known = new Map<string, Promise<number>>();

  constructor(
    private readonly link: NatsLink,
    private readonly requested: number | undefined,
    private readonly replicas: number,
  ) {}

  /** The data streams this catalog has placed topics in. */
  streams(): string[] {
    return [...this.known.keys()];
  }

  /** The partition count of `place`'s stream, creating the stream and its record stream if needed. */
  partitionsOf(place: TopicPlace): Promise<number> {
    let p = this.known.get(place.stream);
    if (!p) {
      p = this.settle(place);
      p.catch(() => this.known.delete(place.stream));
      this.known.set(place.stream, p);
    }
    return p;
  }

  private async settle(place: TopicPlace): Promise<number> {
    const info = await this.ensure(
      {
        name: place.stream,
        subjects: [place.streamSubjects],
        description: `${DESCRIPTION}; partitions=${this.requested ?? DEFAULT_NATS_PARTITIONS}`,
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.Old,
        duplicate_window: 120_000 * NANOS_PER_MS,
        num_replicas: this.replicas,
      },
      place,
    );
    const stored = /partitions=(\d+)/.exec(info.config.description ?? '')?.[1];
    if (stored === undefined) {
      throw new ValidationError(`JetStream stream '${place.stream}' exists but was not created by modelwatch (no partition count in its description)`);
    }
    const n = Number(stored);
    if (this.requested !== undefined && this.requested !== n) {
      throw new ValidationError(`stream '${place.stream}' has ${n} partitions; it cannot be opened with ${this.requested}`, {
        stored: n,
        requested: this.requested,
      });
    }
    await this.ensure(
      {
        name: place.metaStream,
        subjects: [place.metaSubjects],
        description: `modelwatch group records of ${place.stream}`,
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.Old,
        max_msgs_per_subject: 1,
        num_replicas: this.replicas,
      },
      place,
    );
    return n;
  }

  private async ensure(config: Partial<StreamConfig> & { name: string }, place: TopicPlace): Promise<StreamInfo> {
    const { jsm } = this.link;
    for (let attempt = 0; ; attempt++) {
      try {
        return await jsm.streams.info(config.name);
      } catch (err) {
        if (apiErrorCode(err) !== 10059) throw toStreamError(err, `reading stream '${config.name}' (topic '${place.topic}')`);
      }
      try {
        return await jsm.streams.add(config);
      } catch (err) {
        // Another client created it first (10058: name in use): read what it made.
        if (apiErrorCode(err) === 10058 && attempt < 3) continue;
        throw toStreamError(err, `creating stream '${config.name}' for topic '${place.topic}'`);
      }
    }
  }
}

/** Reads the last pack of `subject` in `stream`; a subject without messages has offset 0 next. */
export async function readTail(link: NatsLink, stream: string, subject: string): Promise<Tail> {
  const m = await getStoredMessage(link, stream, { last_by_subj: subject }, `reading the end of '${subject}'`);
  if (!m) return { seq: 0, next: 0, msgId: undefined };
  const next = nextOffsetAfter(m.header);
  if (next === undefined) {
    throw new ValidationError(`the last message of subject '${subject}' (stream '${stream}', seq ${m.seq}) was not written by modelwatch`);
  }
  return { seq: m.seq, next, msgId: m.header.get('Nats-Msg-Id') || undefined };
}
