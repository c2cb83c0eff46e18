import type BetterSqlite3 from 'better-sqlite3';
import type { Clock } from '../../common/clock.ts';
import { ValidationError } from '../../common/errors.ts';
import type { StreamMessage, Subscription } from '../port.ts';
import { StreamClosedError, StreamLeaseLostError } from './errors.ts';
import type { GroupLeases } from './group-lease.ts';
import { decodePackIndex, packedValue } from '../pack.ts';

/** A `log` row in raw mode: partition, seq, key, value, ts, n, pack. */
type LogRow = [partition: number, seq: number, key: string, value: string, ts: number, n: number, pack: string | null];

/** What a subscription needs from its stream. */
export interface SubscriptionContext {
  /** The log. */
  db: BetterSqlite3.Database;
  /** Group offsets and leases (see log-db.ts). */
  groups: BetterSqlite3.Database;
  leases: GroupLeases;
  clock: Clock;
  topic: string;
  group: string;
  owner: string;
  leaseTtlMs: number;
  /** Real-time period of the background lease renewal; 0 turns it off. */
  renewIntervalMs: number;
  pollIntervalMs: number;
  /** Seq the group had committed when this subscription started. */
  committedSeq: number;
  onClose: () => void;
}

/**
 * The single active reader of one (topic, group). Its cursor starts at the group's committed seq,
 * so whatever an earlier holder fetched and did not acknowledge is delivered again.
 */
export class SqliteSubscription implements Subscription {
  /** A fetch is a read of the log file: the stream processor reads and parses 500 events at a time. */
  readonly readChunk = 500;
  private readonly c: SubscriptionContext;
  private readonly read: BetterSqlite3.Statement;
  private readonly commit: BetterSqlite3.Statement;
  private readonly committed: BetterSqlite3.Statement;
  private readonly count: BetterSqlite3.Statement;
  private cursor: number;
  private lastRenewAt: number;
  private lost = false;
  private closed = false;
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(c: SubscriptionContext) {
    this.c = c;
    this.cursor = c.committedSeq;
    this.lastRenewAt = c.clock.now();
    // Raw rows (arrays): a pack row becomes its events' messages, so no row object is kept.
    this.read = c.db.prepare('SELECT partition, seq, key, value, ts, n, pack FROM log WHERE topic = ? AND seq > ? ORDER BY seq LIMIT ?').raw();
    this.commit = c.groups.prepare(
      `UPDATE group_offsets SET committed_seq = MAX(committed_seq, @seq)
       WHERE topic = @topic AND grp = @grp
         AND EXISTS (SELECT 1 FROM group_leases l WHERE l.topic = @topic AND l.grp = @grp AND l.owner = @owner)`,
    );
    this.committed = c.groups.prepare('SELECT committed_seq AS seq FROM group_offsets WHERE topic = ? AND grp = ?');
    // Events after the committed offset: a pack holding it counts only its events after it.
    this.count = c.db.prepare('SELECT COALESCE(SUM(MIN(n, seq - @seq)), 0) AS n FROM log WHERE topic = @topic AND seq > @seq');
    if (c.renewIntervalMs > 0) {
      // Keeps the lease while this process lives, even when one batch takes longer than the lease.
      this.timer = setInterval(() => this.backgroundRenew(), c.renewIntervalMs);
      this.timer.unref();
    }
  }

  async fetch(max: number, waitMs = 0): Promise<StreamMessage[]> {
    this.checkUsable();
    this.keepLease();
    if (!(max >= 1)) return [];
    const until = Date.now() + Math.max(0, waitMs);
    for (;;) {
      const rows = this.readAfterCursor(Math.trunc(max));
      if (rows.length > 0) return rows;
      const left = until - Date.now();
      if (left <= 0 || this.closed) return [];
      await new Promise((r) => setTimeout(r, Math.min(this.c.pollIntervalMs, left)));
      if (this.closed) return [];
      this.keepLease();
    }
  }

  async ack(messages: StreamMessage[]): Promise<void> {
    this.checkUsable();
    let seq = 0;
    for (const m of messages) {
      if (m.topic !== this.c.topic) throw new ValidationError(`cannot acknowledge a message of topic '${m.topic}' on a subscription to '${this.c.topic}'`);
      seq = Math.max(seq, Number(m.offset));
    }
    if (seq === 0) return;
    const { topic, group: grp, owner, leaseTtlMs, clock } = this.c;
    const now = clock.now();
    const ok = this.c.groups
      .transaction(() => this.commit.run({ seq, topic, grp, owner }).changes > 0 && this.c.leases.renew(topic, grp, owner, now, leaseTtlMs))
      .immediate();
    if (!ok) this.markLost();
    this.lastRenewAt = now;
  }

  async lag(): Promise<number> {
    this.checkUsable();
    const r = this.committed.get(this.c.topic, this.c.group) as { seq: number } | undefined;
    return (this.count.get({ topic: this.c.topic, seq: r?.seq ?? 0 }) as { n: number }).n;
  }

  /**
   * Up to `max` events after the cursor, moving the cursor to the last one. Every row holds at
   * least one event, so `max` rows are enough; the rows are iterated and the read stops as soon as
   * `max` events are in hand (the cursor may then sit inside a pack, which the next read resumes).
   */
  private readAfterCursor(max: number): StreamMessage[] {
    const out: StreamMessage[] = [];
    const topic = this.c.topic;
    let cursor = this.cursor;
    for (const [partition, seq, key, value, timestamp, n, pack] of this.read.iterate(topic, cursor, max) as IterableIterator<LogRow>) {
      if (pack === null) {
        out.push({ topic, partition, offset: String(seq), key, value, timestamp });
        cursor = seq;
      } else {
        const index = decodePackIndex(pack, n, value.length);
        const { lens, keys, ki } = index;
        const first = seq - n + 1;
        let pos = 0;
        for (let i = 0; i < n && out.length < max; i++) {
          const len = lens[i]!;
          const offset = first + i;
          if (offset > cursor) {
            out.push({ topic, partition, offset: String(offset), key: keys[ki ? ki[i]! : 0]!, value: packedValue(index, i, value.slice(pos, pos + len)), timestamp });
            cursor = offset;
          }
          pos += len;
        }
      }
      if (out.length >= max) break;
    }
    this.cursor = cursor;
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    try {
      if (!this.lost && this.c.groups.open) this.c.leases.release(this.c.topic, this.c.group, this.c.owner);
    } finally {
      this.c.onClose();
    }
  }

  private checkUsable(): void {
    if (this.closed) throw new StreamClosedError(`the subscription of group '${this.c.group}' to '${this.c.topic}'`);
    if (this.lost) throw new StreamLeaseLostError(this.c.topic, this.c.group);
  }

  /** Renews once a third of the lease has passed: often enough never to lapse, rarely enough to keep fetches read-only. */
  private keepLease(): void {
    const now = this.c.clock.now();
    if (now - this.lastRenewAt < this.c.leaseTtlMs / 3) return;
    if (!this.c.leases.renew(this.c.topic, this.c.group, this.c.owner, now, this.c.leaseTtlMs)) this.markLost();
    this.lastRenewAt = now;
  }

  private backgroundRenew(): void {
    if (this.closed || this.lost || !this.c.groups.open) return;
    try {
      this.keepLease();
    } catch {
      // Lost leases surface on the next fetch or ack; a busy database is retried on the next tick.
    }
  }

  private markLost(): never {
    this.lost = true;
    if (this.timer) clearInterval(this.timer);
    throw new StreamLeaseLostError(this.c.topic, this.c.group);
  }
}
