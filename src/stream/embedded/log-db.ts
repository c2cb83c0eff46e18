import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { ValidationError } from '../../common/errors.ts';
import { makePrivateDatabaseFile } from '../../common/private-files.ts';

/*
 * The embedded log's SQLite file. A `log` row holds `n` events of one partition with the offsets
 * `seq - n + 1 … seq` (see pack.ts). `seq` is AUTOINCREMENT so that a number is never reused,
 * even after retention deletes the newest rows: offsets only ever grow. SQLite has one writer at a
 * time and offsets are assigned inside the write, so readers never see a lower seq appear after a higher one.
 * `log_topic_partition_seq` finds a partition's last event at once (`Stream.progress`), however
 * long ago it was published.
 */
const DDL = `
CREATE TABLE IF NOT EXISTS log (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  topic TEXT NOT NULL,
  partition INTEGER NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  ts INTEGER NOT NULL,
  n INTEGER NOT NULL DEFAULT 1,
  pack TEXT
);
CREATE INDEX IF NOT EXISTS log_topic_seq ON log (topic, seq);
CREATE INDEX IF NOT EXISTS log_topic_partition_seq ON log (topic, partition, seq);
CREATE TABLE IF NOT EXISTS stream_meta (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`;

/*
 * The consumer groups' offsets and leases live in a file of their own beside the log (see
 * {@link groupsFileOf}). SQLite has one write lock per file, and producers append to the log
 * nearly without pause under load: an acknowledgement in the log file waited for that lock in
 * SQLite's busy handler, which sleeps 1, 2, 5, 10 ms between tries, blocking the consumer's event
 * loop each time (measured in the ingest benchmark: 11 ms per acknowledged batch, with the
 * tsdb writer idle meanwhile). In their own file, groups only ever wait for each other.
 */
const GROUPS_DDL = `
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
CREATE TABLE IF NOT EXISTS groups_meta (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`;

/** The groups file of a log file: `stream.db` → `stream.groups.db` (`x.log` → `x.log.groups.db`). */
export function groupsFileOf(logFile: string): string {
  return logFile === ':memory:' ? ':memory:' : `${logFile.replace(/\.db$/i, '')}.groups.db`;
}

/**
 * Opens (creating if needed) the groups database of an open log (see {@link GROUPS_DDL}); a
 * `:memory:` log keeps its groups in itself. A log written before groups had their own file holds
 * them in its own tables: they are copied over once, by whichever process opens it first (the
 * tables stay, unread: every process sharing a log must run a version that reads the groups file).
 */
export function openGroupsDatabase(log: BetterSqlite3.Database, logFile: string, busyTimeoutMs: number): BetterSqlite3.Database {
  if (log.memory) {
    log.exec(GROUPS_DDL);
    return log;
  }
  return openWalDatabase(groupsFileOf(logFile), busyTimeoutMs, undefined, (db) => {
    db.exec(GROUPS_DDL);
    if (db.prepare("SELECT 1 FROM groups_meta WHERE name = 'imported'").get()) return;
    const tables = new Set((log.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name));
    for (const [table, columns] of LEGACY_GROUP_TABLES) {
      if (!tables.has(table)) continue;
      const put = db.prepare(`INSERT INTO ${table} (${columns}) VALUES (${columns.replace(/\w+/g, '?')}) ON CONFLICT DO NOTHING`);
      for (const r of log.prepare(`SELECT ${columns} FROM ${table}`).raw().all() as unknown[][]) put.run(...r);
    }
    db.prepare("INSERT INTO groups_meta (name, value) VALUES ('imported', ?)").run(String(Date.now()));
  });
}

/** The group tables a log written before the groups file holds, with the columns copied over. */
const LEGACY_GROUP_TABLES = [
  ['group_offsets', 'topic, grp, committed_seq'],
  ['group_leases', 'topic, grp, owner, expires_at'],
] as const;

/** Bytes of WAL after which a commit checkpoints the file (SQLite's own default is 4 MB). */
export const WAL_AUTOCHECKPOINT_BYTES = 16 * 1024 * 1024;

/** {@link WAL_AUTOCHECKPOINT_BYTES} in pages of `db` (its page size depends on how it was created). */
export function walAutocheckpointPages(db: BetterSqlite3.Database): number {
  return Math.max(1, Math.round(WAL_AUTOCHECKPOINT_BYTES / Number(db.pragma('page_size', { simple: true }))));
}

/**
 * Opens (creating if needed) the log file for several processes: WAL so that consumers read while
 * producers append, a busy timeout so that writers queue for the lock, `synchronous=NORMAL`
 * (durable across process crashes; a power loss may drop the last commits).
 */
export function openLogDatabase(file: string, busyTimeoutMs: number): BetterSqlite3.Database {
  return openWalDatabase(file, busyTimeoutMs, LOG_PAGE_SIZE, (db) => {
    db.exec(DDL);
    upgradeLog(db);
  });
}

/**
 * Page size of a new log file. The log is appended in packs of tens of kilobytes and copied once
 * more by each checkpoint, page by page: with 16 KB pages instead of SQLite's 4 KB, appending and
 * checkpointing cost 0.34 rather than 0.44 µs of CPU per event of 150 bytes, mostly in the kernel
 * (packs of 500 events; 64 KB pages did no better). A log file keeps the size it was created with.
 */
export const LOG_PAGE_SIZE = 16_384;

/**
 * Opens (creating it and its folder if needed) a SQLite file shared by several processes — WAL,
 * the busy timeout, `synchronous=NORMAL`, checkpoints every {@link WAL_AUTOCHECKPOINT_BYTES} of WAL —
 * and runs `setup` (its schema) in one IMMEDIATE transaction. `:memory:` stays in memory. A new
 * file gets `pageSize` (SQLite's own when undefined); an existing one keeps its own.
 */
function openWalDatabase(file: string, busyTimeoutMs: number, pageSize: number | undefined, setup: (db: BetterSqlite3.Database) => void): BetterSqlite3.Database {
  const memory = file === ':memory:';
  if (!memory) {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    makePrivateDatabaseFile(file);
  }
  const db = new BetterSqlite3(file, { timeout: busyTimeoutMs });
  try {
    db.pragma(`busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
    // Takes effect only on a file with no table yet (a WAL file keeps the size it has).
    if (!memory && pageSize !== undefined) db.pragma(`page_size = ${pageSize}`);
    if (!memory) db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    // Checkpoints (copying the WAL into the file, with an fsync) every 16 MB of log rather than
    // SQLite's 4 MB: the log is written once and read soon, and each checkpoint stalls a producer.
    if (!memory) db.pragma(`wal_autocheckpoint = ${walAutocheckpointPages(db)}`);
    db.transaction(() => setup(db)).immediate();
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/**
 * A log written before packing has one event per row and no `n`/`pack` columns: adding them (a
 * change of the schema only, no row is rewritten) makes every old row a pack of one event.
 */
function upgradeLog(db: BetterSqlite3.Database): void {
  const columns = new Set((db.prepare("SELECT name FROM pragma_table_info('log')").all() as { name: string }[]).map((c) => c.name));
  if (!columns.has('n')) db.exec('ALTER TABLE log ADD COLUMN n INTEGER NOT NULL DEFAULT 1');
  if (!columns.has('pack')) db.exec('ALTER TABLE log ADD COLUMN pack TEXT');
}

/**
 * The next free offset: one past the highest seq ever used (AUTOINCREMENT records it in
 * `sqlite_sequence`, which survives retention deleting the newest rows). Call inside the write transaction.
 */
export const NEXT_OFFSET_SQL =
  "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'log'), 0), COALESCE((SELECT MAX(seq) FROM log), 0)) + 1 AS next";

/** Appends one row: seq, topic, partition, key, value, ts, n, pack. */
export const APPEND_SQL = 'INSERT INTO log (seq, topic, partition, key, value, ts, n, pack) VALUES (?, ?, ?, ?, ?, ?, ?, ?)';

/** One pack to append: its partition and its row (see pack.ts). */
export interface AppendRow {
  partition: number;
  key: string;
  value: string;
  n: number;
  pack: string | null;
}

/**
 * Appends packs with the statements of {@link NEXT_OFFSET_SQL} and {@link APPEND_SQL}, numbering
 * their events on from the log's end. Call inside an IMMEDIATE transaction (on the calling thread
 * or on the log writer thread).
 */
export function appendRows(
  nextOffset: { get(): unknown },
  append: { run(...params: unknown[]): unknown },
  topic: string,
  ts: number,
  rows: readonly AppendRow[],
): void {
  let next = (nextOffset.get() as { next: number }).next;
  for (const r of rows) {
    next += r.n;
    append.run(next - 1, topic, r.partition, r.key, r.value, ts, r.n, r.pack);
  }
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
