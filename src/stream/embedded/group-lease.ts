import type BetterSqlite3 from 'better-sqlite3';

/**
 * The lease that makes one consumer at a time the reader of a (topic, group), across processes.
 * Each call is one short IMMEDIATE transaction, so two processes racing for a free or expired
 * lease are serialised by SQLite's write lock and exactly one of them wins.
 */
export class GroupLeases {
  private readonly take: BetterSqlite3.Statement;
  private readonly insert: BetterSqlite3.Statement;
  private readonly holderOf: BetterSqlite3.Statement;
  private readonly extend: BetterSqlite3.Statement;
  private readonly drop: BetterSqlite3.Statement;
  private readonly db: BetterSqlite3.Database;

  constructor(db: BetterSqlite3.Database) {
    this.db = db;
    this.take = db.prepare(
      'UPDATE group_leases SET owner = @owner, expires_at = @expiresAt WHERE topic = @topic AND grp = @grp AND (owner = @owner OR expires_at < @now)',
    );
    this.insert = db.prepare(
      'INSERT INTO group_leases (topic, grp, owner, expires_at) VALUES (@topic, @grp, @owner, @expiresAt) ON CONFLICT DO NOTHING',
    );
    this.holderOf = db.prepare('SELECT owner, expires_at AS expiresAt FROM group_leases WHERE topic = ? AND grp = ?');
    this.extend = db.prepare('UPDATE group_leases SET expires_at = @expiresAt WHERE topic = @topic AND grp = @grp AND owner = @owner');
    this.drop = db.prepare('DELETE FROM group_leases WHERE topic = ? AND grp = ? AND owner = ?');
  }

  /** Takes the lease when it is free, expired or already `owner`'s; returns whether `owner` holds it. */
  acquire(topic: string, grp: string, owner: string, now: number, ttlMs: number): boolean {
    const p = { topic, grp, owner, now, expiresAt: now + ttlMs };
    return this.db
      .transaction(() => {
        if (this.take.run(p).changes > 0) return true;
        return this.insert.run(p).changes > 0;
      })
      .immediate();
  }

  /** Extends `owner`'s lease; false when another consumer has taken it. */
  renew(topic: string, grp: string, owner: string, now: number, ttlMs: number): boolean {
    return this.extend.run({ topic, grp, owner, expiresAt: now + ttlMs }).changes > 0;
  }

  holder(topic: string, grp: string): { owner: string; expiresAt: number } | undefined {
    return this.holderOf.get(topic, grp) as { owner: string; expiresAt: number } | undefined;
  }

  release(topic: string, grp: string, owner: string): void {
    this.drop.run(topic, grp, owner);
  }
}
