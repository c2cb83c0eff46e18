import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { ValidationError } from '../../common/errors.ts';

/*
 * The embedded log's SQLite file. `seq` is AUTOINCREMENT so that a number is never reused, even
 * after retention deletes the newest rows: offsets only ever grow. SQLite has one writer at a
 * time and assigns `seq` inside the write, so readers never see a lower seq appear after a higher one.
 */
const DDL = `
CREATE TABLE IF NOT EXISTS log (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  topic TEXT NOT NULL,
  partition INTEGER NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  ts INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS log_topic_seq ON log (topic, seq);
CREATE TABLE IF NOT EXISTS group_offsets (
  topic TEXT NOT NULL,
  grp TEXT NOT NULL,
  committed_seq INTEGER NOT NULL,
  PRIMARY KEY (topic, grp)
);
CREATE TABLE IF NOT EXISTS group_leases (
  topic TEXT NOT NULL,
  grp TEXT NOT NULL,
  owner TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (topic, grp)
);
CREATE TABLE IF NOT EXISTS stream_meta (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`;

/**
 * Opens (creating if needed) the log file for several processes: WAL so that consumers read while
 * producers append, a busy timeout so that writers queue for the lock, `synchronous=NORMAL`
 * (durable across process crashes; a power loss may drop the last commits).
 */
export function openLogDatabase(file: string, busyTimeoutMs: number): BetterSqlite3.Database {
  const memory = file === ':memory:';
  if (!memory) fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new BetterSqlite3(file, { timeout: busyTimeoutMs });
  try {
    db.pragma(`busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
    if (!memory) db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.transaction(() => db.exec(DDL)).immediate();
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/**
 * The partition count is a property of the log, not of one process: it is recorded on first use so
 * that every producer maps a key to the same partition. An explicit, different count is an error.
 */
export function settlePartitions(db: BetterSqlite3.Database, requested: number | undefined): number {
  if (requested !== undefined && (!Number.isInteger(requested) || requested < 1)) {
    throw new ValidationError(`partitions must be a whole number >= 1, got ${String(requested)}`);
  }
  return db
    .transaction(() => {
      const row = db.prepare('SELECT value FROM stream_meta WHERE name = ?').get('partitions') as { value: string } | undefined;
      if (row) {
        const stored = Number(row.value);
        if (requested !== undefined && requested !== stored) {
          throw new ValidationError(`this stream log has ${stored} partitions; it cannot be opened with ${requested}`, {
            stored,
            requested,
          });
        }
        return stored;
      }
      const n = requested ?? 1;
      db.prepare('INSERT INTO stream_meta (name, value) VALUES (?, ?)').run('partitions', String(n));
      return n;
    })
    .immediate();
}
