import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type BetterSqlite3 from 'better-sqlite3';
import { systemClock, type Clock } from '../../common/clock.ts';
import { ValidationError } from '../../common/errors.ts';
import type { OutgoingMessage, PartitionProgress, Stream, SubscribeOptions, Subscription } from '../port.ts';
import { StreamClosedError, StreamGroupBusyError } from './errors.ts';
import { GroupLeases } from './group-lease.ts';
import { checkMessages } from '../batching.ts';
import type { ThreadClient } from '../../common/worker-thread.ts';
import { APPEND_SQL, appendRows, NEXT_OFFSET_SQL, openGroupsDatabase, openLogDatabase, settlePartitions, walAutocheckpointPages, type AppendRow } from './log-db.ts';
import { dropFirstEvents } from '../pack.ts';
import { SqliteSubscription } from './sqlite-subscription.ts';
import { packEventBatch, packRows } from './log-rows.ts';
import { logWriterThread } from './log-writer.ts';
import type { LogAppend } from './log-writer-thread.ts';
import { startStreamRetention, type StreamRetention } from '../retention.ts';
import type { EventBatch } from '../../tracking/event-batch.ts';

/** Options of {@link SqliteStream}. */
export interface SqliteStreamOptions {
  /** The log's SQLite file (created with its folder if missing); `:memory:` for a private log. */
  file: string;
  /** The URL it was opened from. @default `sqlite://<file>` */
  url?: string;
  /** Partitions of the log, fixed on first use. @default the recorded count, else 1 */
  partitions?: number;
  /** Stamps message timestamps and lease times. @default systemClock */
  clock?: Clock;
  /** Names this consumer in group leases; a restarted worker with the same id resumes its lease at once. @default host:pid:random */
  ownerId?: string;
  /** How long a group lease lasts without renewal (clock time). @default 15000 */
  leaseTtlMs?: number;
  /** Real time `subscribe` waits for a busy group before failing. @default 2 × leaseTtlMs */
  subscribeTimeoutMs?: number;
  /** Real-time period of background lease renewal; 0 renews only on fetch and ack. @default leaseTtlMs / 3 */
  renewIntervalMs?: number;
  /** Real time between polls while `fetch` waits for messages. @default 20 */
  pollIntervalMs?: number;
  /** Milliseconds to wait for another process's write lock. @default 5000 */
  busyTimeoutMs?: number;
  /**
   * Once this handle publishes to a log file, a thread of its own appends the events and
   * checkpoints the log (see log-writer.ts): the publishing event loop only encodes the packs.
   * false: appends run on the calling thread (a `:memory:` log always does). @default true
   */
  writerThread?: boolean;
  /**
   * The writer thread checkpoints the log every this many milliseconds, never on the publishing
   * event loop. 0: SQLite's own, by the committing connection. Each checkpoint costs two fsyncs and
   * copies the pages written since the last one (hot pages once however often they were
   * rewritten): at serving rates 5 s is about as often as SQLite's own 16 MB threshold. @default 5000
   */
  checkpointIntervalMs?: number;
  /** Background retention: acknowledged events older than `keepMs` are truncated every `intervalMs`. @default none */
  retention?: StreamRetention;
}

/**
 * The embedded stream: a durable log in a SQLite file that producers (serving, tracking) and
 * consumers (stream processor, controller, writer) in any number of processes share. One
 * consumer at a time reads a (topic, group), enforced by a lease row. Offsets number the events
 * of the whole log, as decimal strings; a row holds a pack of consecutive ones (see pack.ts).
 * better-sqlite3 is synchronous and each call is one short transaction, so no lock is ever held
 * across an `await`.
 */
export class SqliteStream implements Stream {
  readonly url: string;
  readonly file: string;
  readonly partitions: number;
  readonly ownerId: string;
  private readonly db: BetterSqlite3.Database;
  /** Group offsets and leases: a file of their own (see log-db.ts), or `db` itself for a `:memory:` log. */
  private readonly groups: BetterSqlite3.Database;
  private readonly clock: Clock;
  private readonly leases: GroupLeases;
  private readonly leaseTtlMs: number;
  private readonly subscribeTimeoutMs: number;
  private readonly renewIntervalMs: number;
  private readonly pollIntervalMs: number;
  private readonly append: BetterSqlite3.Statement;
  private readonly nextOffset: BetterSqlite3.Statement<[], { next: number }>;
  private readonly active = new Map<string, SqliteSubscription>();
  private closed = false;
  private readonly checkpointIntervalMs: number;
  private readonly busyTimeoutMs: number;
  private readonly useWriterThread: boolean;
  private writer: ThreadClient<LogAppend> | undefined;
  private readonly stopRetention: (() => void) | undefined;

  constructor(opts: SqliteStreamOptions) {
    this.file = opts.file;
    this.url = opts.url ?? `sqlite://${opts.file}`;
    this.clock = opts.clock ?? systemClock;
    this.ownerId = opts.ownerId ?? `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.leaseTtlMs = positive('leaseTtlMs', opts.leaseTtlMs ?? 15_000);
    this.subscribeTimeoutMs = Math.max(0, opts.subscribeTimeoutMs ?? 2 * this.leaseTtlMs);
    this.renewIntervalMs = Math.max(0, opts.renewIntervalMs ?? Math.ceil(this.leaseTtlMs / 3));
    this.pollIntervalMs = positive('pollIntervalMs', opts.pollIntervalMs ?? 20);
    this.busyTimeoutMs = opts.busyTimeoutMs ?? 5000;
    this.checkpointIntervalMs = Math.max(0, opts.checkpointIntervalMs ?? 5000);
    this.useWriterThread = opts.writerThread ?? true;
    this.db = openLogDatabase(opts.file, this.busyTimeoutMs);
    let groups: BetterSqlite3.Database | undefined;
    try {
      this.partitions = settlePartitions(this.db, opts.partitions);
      groups = openGroupsDatabase(this.db, opts.file, this.busyTimeoutMs);
      this.groups = groups;
      this.leases = new GroupLeases(groups);
      this.append = this.db.prepare(APPEND_SQL);
      this.nextOffset = this.db.prepare<[], { next: number }>(NEXT_OFFSET_SQL);
    } catch (err) {
      if (groups && groups !== this.db) groups.close();
      this.db.close();
      throw err;
    }
    this.stopRetention = startStreamRetention(this, opts.retention);
  }

  /**
   * Appends the messages in one transaction: all of them or none. Each partition's messages become
   * one row (a pack, see pack.ts) holding consecutive offsets. On the writer thread (see
   * {@link SqliteStreamOptions.writerThread}) once this handle has published, in the order of the calls.
   */
  async publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    this.checkOpen();
    checkName('topic', topic);
    checkMessages(topic, messages, (text) => new ValidationError(text));
    if (messages.length === 0) return;
    const writer = this.startWriter();
    const ts = this.clock.now();
    // Packed here, before the write lock is taken, so that other processes wait only for the INSERTs.
    // (Packing on the writer thread instead meant posting the events whole, twice the bytes, and
    // more work beside a busy event loop on two cores: the serving bench's on/off medians fell to
    // 0.77 and 0.90, against 1.07 and 0.98 with packing here.)
    const rows = packRows(messages, this.partitions);
    if (writer?.ready) return writer.request({ topic, ts, rows });
    this.appendHere(topic, ts, rows);
  }

  /**
   * Publishes tracked events given as numbers: on the writer thread, once it runs, the events are
   * encoded and packed there too, so the publishing event loop only posts their numbers (half the
   * bytes of the packs, and none of the work); otherwise they are packed the same way
   * (`packEventBatch`) and appended here, as `publish` appends.
   * The batch's own numbers are moved to the thread (its `nums` is left empty, detached); numbers in
   * shared memory are read by the thread where they lie, before the returned promise settles.
   */
  async publishEvents(topic: string, batch: EventBatch): Promise<void> {
    this.checkOpen();
    checkName('topic', topic);
    if (batch.count === 0) return;
    const writer = this.startWriter();
    const ts = this.clock.now();
    // The batch's own numbers move to the thread rather than being copied (the batch is not the
    // caller's to reuse); numbers in shared memory (the tracker's, in place) are read there as they lie.
    const { buffer } = batch.nums;
    if (writer?.ready) return writer.request({ topic, ts, events: batch, partitions: this.partitions }, buffer instanceof SharedArrayBuffer ? [] : [buffer]);
    this.appendHere(topic, ts, packEventBatch(batch, this.partitions));
  }

  /** Appends packed rows on this thread, in one IMMEDIATE transaction (when the writer thread is not running). */
  private appendHere(topic: string, ts: number, rows: AppendRow[]): void {
    this.db.transaction(() => appendRows(this.nextOffset, this.append, topic, ts, rows)).immediate();
  }

  /**
   * Becomes the group's only consumer. When another consumer (in this or another process) holds
   * the group, waits for it to close or for its lease to expire, up to `subscribeTimeoutMs`.
   * @throws StreamGroupBusyError when the group stays held.
   */
  async subscribe(topic: string, group: string, opts: SubscribeOptions = {}): Promise<Subscription> {
    this.checkOpen();
    checkName('topic', topic);
    checkName('group', group);
    const key = JSON.stringify([topic, group]);
    const started = Date.now();
    while (this.active.has(key) || !this.leases.acquire(topic, group, this.ownerId, this.clock.now(), this.leaseTtlMs)) {
      const waited = Date.now() - started;
      if (waited >= this.subscribeTimeoutMs) {
        const holder = this.active.has(key) ? this.ownerId : this.leases.holder(topic, group)?.owner;
        throw new StreamGroupBusyError(topic, group, holder, waited);
      }
      await new Promise((r) => setTimeout(r, Math.min(100, Math.max(5, this.subscribeTimeoutMs - waited))));
      this.checkOpen();
    }
    // A new group reading from the latest message starts after the log's end as read now: events
    // appended meanwhile are delivered (a group that already exists keeps its offset).
    const start = opts.from === 'latest' ? (this.db.prepare('SELECT COALESCE(MAX(seq), 0) AS s FROM log').get() as { s: number }).s : 0;
    const committedSeq = this.groups
      .transaction(() => {
        this.groups.prepare('INSERT INTO group_offsets (topic, grp, committed_seq) VALUES (?, ?, ?) ON CONFLICT DO NOTHING').run(topic, group, start);
        return (this.groups.prepare('SELECT committed_seq AS s FROM group_offsets WHERE topic = ? AND grp = ?').get(topic, group) as { s: number }).s;
      })
      .immediate();
    const sub = new SqliteSubscription({
      db: this.db,
      groups: this.groups,
      leases: this.leases,
      clock: this.clock,
      topic,
      group,
      owner: this.ownerId,
      leaseTtlMs: this.leaseTtlMs,
      renewIntervalMs: this.renewIntervalMs,
      pollIntervalMs: this.pollIntervalMs,
      committedSeq,
      onClose: () => {
        if (this.active.get(key) === sub) this.active.delete(key);
      },
    });
    this.active.set(key, sub);
    return sub;
  }

  /**
   * Each partition's last offset, and the group's committed one: one member at a time reads all the
   * partitions of a (topic, group), in the order of the log's offsets, so what it acknowledged up
   * to is the same offset for every partition. The last offsets are read first: an acknowledgement
   * committed in between can only make the answer more complete.
   */
  async progress(topic: string, group: string): Promise<PartitionProgress[]> {
    this.checkOpen();
    checkName('topic', topic);
    checkName('group', group);
    const last = this.db.prepare<[string, number], { s: number | null }>('SELECT MAX(seq) AS s FROM log WHERE topic = ? AND partition = ?');
    const published = Array.from({ length: this.partitions }, (_, p) => last.get(topic, p)?.s ?? null);
    const committed = this.groups.prepare<[string, string], { s: number }>('SELECT committed_seq AS s FROM group_offsets WHERE topic = ? AND grp = ?').get(topic, group);
    const acknowledged = committed && committed.s > 0 ? String(committed.s) : undefined;
    return published.map((s, partition) => ({ partition, published: s === null ? undefined : String(s), acknowledged }));
  }

  /**
   * Retention: deletes messages older than `olderThanMs` (clock time) that every group of their
   * topic has acknowledged. Topics nobody subscribed to keep their messages. Returns how many went.
   * A pack acknowledged only in part loses its acknowledged events (the row is rewritten).
   */
  async truncate(opts: { olderThanMs: number }): Promise<number> {
    this.checkOpen();
    const cutoff = this.clock.now() - Math.max(0, opts.olderThanMs);
    // Floors only rise (groups acknowledge forward), so one read serves every batch below.
    const floors = this.groups.prepare('SELECT topic, MIN(committed_seq) AS seq FROM group_offsets GROUP BY topic').all() as { topic: string; seq: number }[];
    const batch = this.db.prepare(
      'SELECT COUNT(*) AS rows, MAX(seq) AS last, COALESCE(SUM(n), 0) AS n FROM (SELECT seq, n FROM log WHERE topic = ? AND seq <= ? AND ts < ? ORDER BY seq LIMIT ?)',
    );
    const del = this.db.prepare('DELETE FROM log WHERE topic = ? AND seq <= ? AND ts < ?');
    const straddling = this.db.prepare('SELECT seq, value, n, pack FROM log WHERE topic = ? AND seq > ? AND seq - n < ? AND ts < ? AND pack IS NOT NULL');
    const rewrite = this.db.prepare('UPDATE log SET key = ?, value = ?, n = ?, pack = ? WHERE seq = ?');
    let n = 0;
    for (const f of floors) {
      // In batches of rows, each its own short transaction: producers (other processes too) wait
      // for the write lock one batch at most, even when a large backlog of old rows goes at once.
      for (;;) {
        const done = this.db
          .transaction(() => {
            const b = batch.get(f.topic, f.seq, cutoff, TRUNCATE_BATCH_ROWS) as { rows: number; last: number | null; n: number };
            if (b.rows > 0) del.run(f.topic, b.last, cutoff);
            return b;
          })
          .immediate();
        n += done.n;
        if (done.rows < TRUNCATE_BATCH_ROWS) break;
        await new Promise((r) => setImmediate(r));
        if (this.closed) return n;
      }
      n += this.db
        .transaction(() => {
          const row = straddling.get(f.topic, f.seq, f.seq, cutoff) as { seq: number; value: string; n: number; pack: string } | undefined;
          if (!row) return 0;
          const drop = f.seq - (row.seq - row.n);
          const kept = dropFirstEvents(row, drop);
          rewrite.run(kept.key, kept.value, kept.n, kept.pack, row.seq);
          return drop;
        })
        .immediate();
    }
    return n;
  }

  /** Closes every subscription (giving their leases back) and the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopRetention?.();
    for (const sub of [...this.active.values()]) await sub.close().catch(() => undefined);
    this.active.clear();
    await this.writer?.stop();
    if (this.groups !== this.db) this.groups.close();
    this.db.close();
  }

  /**
   * Starts this handle's writer thread now rather than on its first publish, and settles once
   * publishes go to it (true), or never will (false: turned off, a `:memory:` log, failed, closed).
   */
  writerThreadStarted(): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    return this.startWriter()?.started ?? Promise.resolve(false);
  }

  /** Moves this handle's appends and checkpoints to a thread, from its first publish on (a file log only). */
  private startWriter(): ThreadClient<LogAppend> | undefined {
    if (this.writer || !this.useWriterThread || this.db.memory) return this.writer;
    this.writer = logWriterThread({
      file: this.file,
      busyTimeoutMs: this.busyTimeoutMs,
      checkpointIntervalMs: this.checkpointIntervalMs,
      autocheckpointPages: walAutocheckpointPages(this.db),
      onFailure: () => {
        // Back to appending here and checkpointing on commit; the thread is not started again.
        if (!this.closed) this.db.pragma(`wal_autocheckpoint = ${walAutocheckpointPages(this.db)}`);
      },
    });
    if (this.checkpointIntervalMs > 0) this.db.pragma('wal_autocheckpoint = 0');
    this.writer.start();
    return this.writer;
  }

  private checkOpen(): void {
    if (this.closed) throw new StreamClosedError(`the stream '${this.url}'`);
  }
}

/** Log rows (packs) one truncate transaction deletes at most. */
const TRUNCATE_BATCH_ROWS = 2000;

function checkName(what: string, name: string): void {
  if (typeof name !== 'string' || name.length === 0) throw new ValidationError(`a stream ${what} must be a non-empty string`);
}

function positive(what: string, n: number): number {
  if (!(n > 0) || !Number.isFinite(n)) throw new ValidationError(`${what} must be a positive number, got ${String(n)}`);
  return n;
}
