import { getStoredMessage, isWrongLastSequence, toStreamError, type NatsLink } from './nats-connection.ts';

/**
 * What a consumer group knows about one partition, kept as the only message of a subject in the
 * record stream (max one message per subject). `owner` holds the partition ('' when free); `next`
 * is the first offset not acknowledged and `seq` the stream sequence to read from to reach it.
 * The record is both the lease and the committed offset: every change is a compare-and-set on the
 * subject's last sequence (`rev`), so an owner that lost the partition cannot commit any more.
 */
export interface GroupRecord {
  owner: string;
  next: number;
  seq: number;
}

/** A record as stored: with its topic (for retention; records written before it was added have none). */
interface StoredRecord extends GroupRecord {
  topic?: string;
}

/** A record with the revision (stream sequence) it was read or written at. */
export interface RecordAt extends GroupRecord {
  rev: number;
  /** The topic whose partition it is; undefined for a record written before records named it. */
  topic?: string;
}

/** Someone else changed the record since `rev`. */
export class RecordConflict extends Error {
  constructor(subject: string) {
    super(`group record '${subject}' changed concurrently`);
    this.name = 'RecordConflict';
  }
}

/** Reads and compare-and-sets group records of one meta stream. */
export class GroupRecords {
  constructor(
    private readonly link: NatsLink,
    private readonly metaStream: string,
    /** The topic the records are of (written into each one). */
    private readonly topic?: string,
  ) {}

  async read(subject: string): Promise<RecordAt | undefined> {
    const m = await getStoredMessage(this.link, this.metaStream, { last_by_subj: subject }, `reading group record '${subject}'`);
    if (!m) return undefined;
    const r = m.json<Partial<StoredRecord>>();
    return {
      rev: m.seq,
      owner: typeof r.owner === 'string' ? r.owner : '',
      next: Number(r.next ?? 0),
      seq: Number(r.seq ?? 1),
      ...(typeof r.topic === 'string' ? { topic: r.topic } : {}),
    };
  }

  /**
   * Writes `record` if the subject's last revision is still `rev` (0: no record yet).
   * @returns the new revision.
   * @throws RecordConflict when it is not.
   */
  async write(subject: string, rev: number, record: GroupRecord): Promise<number> {
    try {
      const stored: StoredRecord = { owner: record.owner, next: record.next, seq: record.seq, ...(this.topic !== undefined ? { topic: this.topic } : {}) };
      const ack = await this.link.js.publish(subject, JSON.stringify(stored), { expect: { lastSubjectSequence: rev } });
      return ack.seq;
    } catch (err) {
      if (isWrongLastSequence(err)) throw new RecordConflict(subject);
      throw toStreamError(err, `writing group record '${subject}'`);
    }
  }
}
