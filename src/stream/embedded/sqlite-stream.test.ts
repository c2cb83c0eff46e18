import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { fetchN, runStreamContract } from '../../../test/contract/stream.case.ts';
import { ManualClock } from '../../common/clock.ts';
import { ValidationError } from '../../common/errors.ts';
import { openStream } from '../connect.ts';
import { StreamUnavailableError } from '../errors.ts';
import { partitionFor } from '../partition.ts';
import { StreamClosedError, StreamGroupBusyError, StreamLeaseLostError } from './errors.ts';
import { SqliteStream, type SqliteStreamOptions } from './sqlite-stream.ts';
import { logWriterThread } from './log-writer.ts';
import { LOG_PAGE_SIZE, walAutocheckpointPages } from './log-db.ts';
import { EventBatchBuilder, NumericEventStore, type EventBatch } from '../../tracking/event-batch.ts';
import { EventEncoder, type EventArgs } from '../../tracking/event.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-stream-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshFile = () => path.join(root, `s-${++n}`, 'stream.db');
const values = (ms: { value: string }[]) => ms.map((m) => m.value);
const msgs = (prefix: string, count: number, key = 'k') => Array.from({ length: count }, (_, i) => ({ key, value: `${prefix}${i}` }));

runStreamContract('sqlite', async () => {
  const file = freshFile();
  const open: SqliteStream[] = [];
  return {
    open: async (o = {}) => {
      const s = new SqliteStream({ file, ownerId: o.owner, subscribeTimeoutMs: 200, partitions: 3 });
      open.push(s);
      return s;
    },
    cleanup: async () => {
      for (const s of open) await s.close();
    },
  };
});

describe('SqliteStream', () => {
  const opened: SqliteStream[] = [];
  after(async () => {
    for (const s of opened) await s.close();
  });
  const make = (o: SqliteStreamOptions) => {
    const s = new SqliteStream(o);
    opened.push(s);
    return s;
  };

  it('hands a group over once the holder lease expires, and the old holder learns it lost it', async () => {
    const file = freshFile();
    const clock = new ManualClock();
    const common = { file, clock, leaseTtlMs: 1000, renewIntervalMs: 0, subscribeTimeoutMs: 150 };
    const a = make({ ...common, ownerId: 'a' });
    const b = make({ ...common, ownerId: 'b' });
    await a.publish('t', msgs('m', 4));
    const subA = await a.subscribe('t', 'g');
    await subA.ack(await fetchN(subA, 2));
    await assert.rejects(b.subscribe('t', 'g'), StreamGroupBusyError);
    clock.advance(1001);
    const subB = await b.subscribe('t', 'g');
    assert.deepEqual(values(await fetchN(subB, 2)), ['m2', 'm3']);
    await assert.rejects(subA.fetch(10), StreamLeaseLostError);
    await assert.rejects(subA.ack([]), StreamLeaseLostError);
    await subA.close();
    await subB.close();
  });

  it('waits in subscribe until the holder closes', async () => {
    const file = freshFile();
    const a = make({ file, ownerId: 'a' });
    const b = make({ file, ownerId: 'b', subscribeTimeoutMs: 5000 });
    const subA = await a.subscribe('t', 'g');
    setTimeout(() => void subA.close(), 100);
    const subB = await b.subscribe('t', 'g');
    await subB.close();
  });

  it('refuses a second subscription to one group from the same handle until the first closes', async () => {
    const s = make({ file: freshFile(), subscribeTimeoutMs: 100 });
    const first = await s.subscribe('t', 'g');
    await assert.rejects(s.subscribe('t', 'g'), StreamGroupBusyError);
    const other = await s.subscribe('t', 'other-group');
    await first.close();
    const again = await s.subscribe('t', 'g');
    await again.close();
    await other.close();
  });

  it('lets a restarted consumer with the same owner id resume at once', async () => {
    const file = freshFile();
    const crashed = make({ file, ownerId: 'worker-1', renewIntervalMs: 0 });
    await crashed.publish('t', msgs('m', 3));
    const old = await crashed.subscribe('t', 'g');
    await old.ack(await fetchN(old, 1));
    const restarted = make({ file, ownerId: 'worker-1', subscribeTimeoutMs: 100 });
    const sub = await restarted.subscribe('t', 'g');
    assert.deepEqual(values(await fetchN(sub, 2)), ['m1', 'm2']);
    await sub.close();
  });

  it('keeps a group from a second process while the first holds it, then takes over after a crash', async () => {
    const file = freshFile();
    const parent = make({ file, ownerId: 'parent', subscribeTimeoutMs: 200 });
    await parent.publish('t', msgs('m', 6));
    const fixture = fileURLToPath(new URL('./subscriber.fixture.ts', import.meta.url));
    const child = fork(fixture, [file, '600'], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    const got = await new Promise<string[]>((resolve, reject) => {
      child.on('message', (m) => resolve((m as { got: string[] }).got));
      child.on('error', reject);
    });
    assert.deepEqual(got, ['m0', 'm1', 'm2']);
    await assert.rejects(parent.subscribe('t', 'g'), StreamGroupBusyError);
    child.send('exit');
    await exited;
    const patient = make({ file, ownerId: 'parent-2', subscribeTimeoutMs: 5000 });
    const sub = await patient.subscribe('t', 'g');
    assert.deepEqual(values(await fetchN(sub, 3)), ['m3', 'm4', 'm5']);
    await sub.close();
  });

  it('truncates only messages every group acknowledged and that are old enough', async () => {
    const clock = new ManualClock();
    const s = make({ file: freshFile(), clock });
    await s.publish('t', msgs('m', 5));
    await s.publish('unread', msgs('u', 2));
    const g = await s.subscribe('t', 'g');
    const h = await s.subscribe('t', 'h');
    await g.ack((await fetchN(g, 5)).slice(0, 3));
    await h.ack(await fetchN(h, 5));
    assert.equal(await s.truncate({ olderThanMs: 60_000 }), 0, 'nothing is old enough yet');
    clock.advance(120_000);
    await s.publish('t', msgs('new', 1));
    assert.equal(await s.truncate({ olderThanMs: 60_000 }), 3);
    await g.close();
    const again = await s.subscribe('t', 'g');
    assert.deepEqual(values(await fetchN(again, 3)), ['m3', 'm4', 'new0']);
    const late = await s.subscribe('unread', 'x');
    assert.deepEqual(values(await fetchN(late, 2)), ['u0', 'u1'], 'topics nobody read keep their messages');
  });

  it('partitions by a stable hash of the key and records the partition count', async () => {
    const file = freshFile();
    const s = make({ file, partitions: 4 });
    const keys = Array.from({ length: 20 }, (_, i) => `endpoint-${i}`);
    await s.publish('t', keys.map((key) => ({ key, value: key })));
    const sub = await s.subscribe('t', 'g');
    const got = await fetchN(sub, 20);
    assert.ok(got.every((m) => m.partition === partitionFor(m.key, 4)));
    assert.ok(new Set(got.map((m) => m.partition)).size > 1);
    assert.equal(make({ file }).partitions, 4);
    assert.throws(() => new SqliteStream({ file, partitions: 2 }), ValidationError);
  });

  it('stores one publish as one row per partition and resumes inside a partly acknowledged pack', async () => {
    const file = freshFile();
    const s = make({ file, partitions: 2, ownerId: 'p' });
    const keys = Array.from({ length: 8 }, (_, i) => `endpoint-${i}`);
    const batch = Array.from({ length: 40 }, (_, i) => ({ key: keys[i % keys.length]!, value: `v${i}-${'é'.repeat(i % 3)}` }));
    await s.publish('t', batch);
    const parts = new Set(batch.map((m) => partitionFor(m.key, 2)));
    const db = new BetterSqlite3(file, { readonly: true });
    try {
      const rows = db.prepare('SELECT partition, n FROM log WHERE topic = ?').all('t') as { partition: number; n: number }[];
      assert.equal(rows.length, parts.size, 'one row per partition');
      assert.equal(rows.reduce((a, r) => a + r.n, 0), 40);
    } finally {
      db.close();
    }
    const sub = await s.subscribe('t', 'g');
    const first = await sub.fetch(7);
    assert.equal(first.length, 7);
    await sub.ack(first.slice(0, 5));
    assert.equal(await sub.lag(), 35);
    const rest = await fetchN(sub, 33);
    const offsets = [...first, ...rest].map((m) => Number(m.offset));
    assert.deepEqual(offsets, [...offsets].sort((a, b) => a - b), 'offsets grow');
    assert.equal(new Set(offsets).size, 40);
    assert.deepEqual(new Set([...first, ...rest].map((m) => m.value)), new Set(batch.map((m) => m.value)));
    for (const m of [...first, ...rest]) assert.equal(m.partition, partitionFor(m.key, 2));
    for (const k of keys) {
      const mine = [...first, ...rest].filter((m) => m.key === k).map((m) => m.value);
      assert.deepEqual(mine, batch.filter((m) => m.key === k).map((m) => m.value), `order of ${k}`);
    }
    await sub.close();
    const again = await make({ file, ownerId: 'q' }).subscribe('t', 'g');
    const redelivered = await fetchN(again, 35);
    assert.deepEqual(redelivered.map((m) => m.offset), [...first.slice(5), ...rest].map((m) => m.offset), 'everything after the acknowledged offset comes again');
    await again.ack(redelivered);
    assert.equal(await again.lag(), 0);
    await again.close();
  });

  it('stores the part events of one key share once, and reads them back exactly through SQLite', async () => {
    const file = freshFile();
    const s = make({ file, ownerId: 'p' });
    const batch = Array.from({ length: 50 }, (_, i) => ({
      key: `ep${i % 2}`,
      value: `{"endpointId":"ep${i % 2}","model":"mod${String.fromCodePoint(0x1f600 + (i % 10))}l","when":"${i}","x":"é${'😀'.repeat(i % 3)}"},"names":["ä","\u{1F600}"]}`,
    }));
    await s.publish('t', batch);
    const db = new BetterSqlite3(file, { readonly: true });
    try {
      const stored = (db.prepare('SELECT SUM(LENGTH(value)) AS n FROM log').get() as { n: number }).n;
      const whole = batch.reduce((a, m) => a + [...m.value].length, 0);
      assert.ok(stored < whole / 2, `stored ${stored} of ${whole} characters`);
    } finally {
      db.close();
    }
    const sub = await s.subscribe('t', 'g');
    const got = await fetchN(sub, 50);
    assert.deepEqual(got.map((m) => ({ key: m.key, value: m.value })), batch);
    await sub.close();
    await s.close();
  });

  it('creates a log with 16 KB pages, and opens one made with 4 KB pages as it is', async () => {
    const fresh = freshFile();
    const s = make({ file: fresh });
    await s.publish('t', msgs('a', 3));
    await s.close();
    const pageSize = (file: string): { page: number; autocheckpoint: number } => {
      const db = new BetterSqlite3(file);
      try {
        return { page: Number(db.pragma('page_size', { simple: true })), autocheckpoint: walAutocheckpointPages(db) };
      } finally {
        db.close();
      }
    };
    assert.deepEqual(pageSize(fresh), { page: LOG_PAGE_SIZE, autocheckpoint: 1024 });
    // A log made before: 4 KB pages, WAL, one event in it.
    const old = freshFile();
    fs.mkdirSync(path.dirname(old), { recursive: true });
    const db = new BetterSqlite3(old);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE log (seq INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, partition INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, ts INTEGER NOT NULL)');
    db.prepare('INSERT INTO log (topic, partition, key, value, ts) VALUES (?, 0, ?, ?, 0)').run('t', 'k', 'old');
    db.close();
    const again = make({ file: old, partitions: 1 });
    await again.publish('t', msgs('new', 2));
    const sub = await again.subscribe('t', 'g');
    assert.deepEqual(values(await fetchN(sub, 3)), ['old', 'new0', 'new1']);
    await sub.close();
    await again.close();
    assert.deepEqual(pageSize(old), { page: 4096, autocheckpoint: 4096 });
  });

  it('checkpoints the log on a thread of its own once it publishes, not on the publishing connection', async () => {
    // 40 MB of events, published in steps: SQLite's own checkpoint by the committing connection
    // waits for 16 MB of WAL; the thread (every 20 ms here) keeps it far smaller.
    const walPeak = async (checkpointIntervalMs: number): Promise<number> => {
      const file = freshFile();
      const s = make({ file, checkpointIntervalMs });
      // Values that share nothing (the log stores a shared beginning or end once).
      const pool = Array.from({ length: 64 }, () => randomBytes(1000).toString('hex'));
      let peak = 0;
      for (let i = 0; i < 200; i++) {
        await s.publish('t', Array.from({ length: 100 }, (_, j) => ({ key: `k${j % 4}`, value: `${i}-${j}-${pool[(i * 7 + j) % 64]!}` })));
        await new Promise((r) => setTimeout(r, 2));
        peak = Math.max(peak, fs.statSync(`${file}-wal`).size);
      }
      await s.close();
      const sub = await make({ file, ownerId: 'reader' }).subscribe('t', 'g');
      assert.equal(await sub.lag(), 20_000, 'every event is in the log');
      await sub.close();
      return peak / 1e6;
    };
    const own = await walPeak(0);
    const threaded = await walPeak(20);
    assert.ok(own >= 15, `SQLite's own checkpoints let the WAL reach ${own} MB`);
    assert.ok(threaded < own / 2, `with the thread the WAL peaked at ${threaded} MB (${own} MB without)`);
  });

  const writerOptions = (file: string, onFailure: (err: unknown) => void) => ({
    file,
    busyTimeoutMs: 100,
    checkpointIntervalMs: 10,
    autocheckpointPages: 4096,
    onFailure,
  });
  const append = (key: string, value: string) => ({ topic: 't', ts: 0, rows: [{ partition: 0, key, value, n: 1, pack: null }] });

  it('reports a writer thread that cannot start, and stops one that runs', async () => {
    // The thread does not keep a process alive; this timer keeps the test's until the failure comes.
    const keepAlive = setInterval(() => undefined, 1000);
    const thread = logWriterThread(writerOptions(path.join(root, 'no-such-dir', 'x', 'stream.db'), () => undefined));
    thread.start();
    const failed = await new Promise<unknown>((resolve) => {
      const t = logWriterThread(writerOptions(path.join(root, 'no-such-dir', 'y', 'stream.db'), resolve));
      t.start();
    }).finally(() => clearInterval(keepAlive));
    assert.match(String(failed), /unable to open|directory does not exist|SQLITE_CANTOPEN/i);
    assert.equal(await thread.started, false);
    assert.equal(thread.ready, false);
    await assert.rejects(thread.request(append('k', 'v')), StreamUnavailableError);
    const file = freshFile();
    await make({ file, writerThread: false }).publish('t', msgs('m', 1));
    let failures = 0;
    const c = logWriterThread(writerOptions(file, () => failures++));
    c.start();
    assert.equal(await c.started, true);
    await c.request(append('k', 'v'));
    await new Promise((r) => setTimeout(r, 50));
    await c.stop();
    await c.stop();
    assert.equal(failures, 0, 'a thread stopped on purpose is not a failure');
    const sub = await make({ file, ownerId: 'reader' }).subscribe('t', 'g');
    assert.deepEqual(values(await fetchN(sub, 2)), ['m0', 'v']);
  });

  it('appends on its writer thread in the order of the calls, and reports a failed append', async () => {
    const file = freshFile();
    const s = make({ file, partitions: 3 });
    assert.equal(await s.writerThreadStarted(), true);
    // 60 calls in flight at once: offsets follow the order of the calls, on every partition.
    await Promise.all(Array.from({ length: 60 }, (_, i) => s.publish('t', [0, 1, 2, 3].map((k) => ({ key: `k${k}`, value: `${i}:${k}` })))));
    const sub = await s.subscribe('t', 'g');
    const got = await fetchN(sub, 240);
    for (let k = 0; k < 4; k++) {
      const mine = got.filter((m) => m.key === `k${k}`).map((m) => m.value);
      assert.deepEqual(mine, Array.from({ length: 60 }, (_, i) => `${i}:${k}`));
    }
    const offsets = got.map((m) => Number(m.offset)).sort((a, b) => a - b);
    assert.deepEqual(offsets, Array.from({ length: 240 }, (_, i) => i + 1), 'no offset is skipped or used twice');
    await sub.close();
    // A write the thread cannot do (another connection holds the write lock past the busy timeout) rejects, and the next one goes through.
    const blocker = new BetterSqlite3(file);
    const short = make({ file, busyTimeoutMs: 50 });
    await short.publish('t', msgs('warm', 1));
    assert.equal(await short.writerThreadStarted(), true);
    blocker.prepare('BEGIN IMMEDIATE').run();
    await assert.rejects(short.publish('t', msgs('blocked', 1)), /locked|busy/i);
    blocker.prepare('ROLLBACK').run();
    blocker.close();
    await short.publish('t', msgs('after', 1));
    const again = await make({ file, ownerId: 'r2' }).subscribe('t', 'g2');
    assert.deepEqual(values(await fetchN(again, 242)).slice(240), ['warm0', 'after0']);
  });

  it('publishes tracked events given as numbers: encoded and packed on its writer thread, or on the calling one', async () => {
    const encoders = ['ep-a', 'ep-b', 'ep-c'].map((id) => new EventEncoder({ endpointId: id, project: 'p', function: 'f', model: id, featureNames: ['x', 'y'] }));
    const request = (i: number): EventArgs => ({ start: { ns: 0n, ms: 1_764_000_000_000 + i }, latencyUs: i, requestId: `r${i}`, inputs: [[i, i / 3]], outputs: [i % 2] });
    const batchOf = (from: number, count: number): { batch: EventBatch; expected: { key: string; value: string }[] } => {
      const store = new NumericEventStore();
      const builder = new EventBatchBuilder(store);
      const expected: { key: string; value: string }[] = [];
      for (let i = from; i < from + count; i++) {
        const enc = encoders[i % 3]!;
        // One in ten as text, as the tracker hands over what is not plain numbers.
        const num = i % 10 === 3 ? undefined : store.add(enc, request(i));
        if (num !== undefined) builder.addNumeric(num);
        else builder.addText({ key: enc.endpoint.endpointId, value: enc.encode(request(i)) });
        expected.push({ key: enc.endpoint.endpointId, value: enc.encode(request(i)) });
      }
      return { batch: builder.build(), expected };
    };
    for (const options of [{ file: freshFile(), partitions: 3 }, { file: freshFile(), partitions: 3, writerThread: false }, { file: ':memory:' }]) {
      const s = make(options);
      const onThread = await s.writerThreadStarted();
      assert.equal(onThread, options.file !== ':memory:' && options.writerThread !== false);
      const one = batchOf(0, 250);
      const two = batchOf(250, 50);
      await Promise.all([s.publishEvents('t', one.batch), s.publishEvents('t', two.batch)]);
      // The numbers went to the thread, not copied: the batch is the stream's.
      assert.equal(one.batch.nums.length, onThread ? 0 : 250 * 14 - 25 * 11);
      const sub = await s.subscribe('t', 'g');
      const got = await fetchN(sub, 300);
      await sub.close();
      const expected = [...one.expected, ...two.expected];
      for (const id of ['ep-a', 'ep-b', 'ep-c']) {
        assert.deepEqual(
          got.filter((m) => m.key === id).map((m) => m.value),
          expected.filter((m) => m.key === id).map((m) => m.value),
          `events of ${id} in order, as EventEncoder writes them`,
        );
      }
      await assert.rejects(s.publishEvents('', one.batch), ValidationError);
    }
  });

  it('goes on appending on its own connection when the writer thread dies, losing nothing', async () => {
    const file = freshFile();
    const s = make({ file });
    assert.equal(await s.writerThreadStarted(), true);
    await s.publish('t', msgs('a', 3));
    const writer = (s as unknown as { writer: { kill(): Promise<void>; ready: boolean } }).writer;
    await writer.kill();
    assert.equal(writer.ready, false);
    await s.publish('t', msgs('b', 3));
    const sub = await s.subscribe('t', 'g');
    assert.deepEqual(values(await fetchN(sub, 6)), ['a0', 'a1', 'a2', 'b0', 'b1', 'b2']);
  });

  it('keeps a process alive while its last publish is written, and then lets it exit', async () => {
    const file = freshFile();
    const fixture = fileURLToPath(new URL('./publisher.fixture.ts', import.meta.url));
    const child = fork(fixture, [file], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    assert.equal(code, 0);
    assert.equal(out.trim(), 'published');
    const sub = await make({ file, ownerId: 'reader' }).subscribe('t', 'g');
    assert.equal(await sub.lag(), 1000);
  });

  it('truncates a large backlog in batches of rows, each its own transaction', async () => {
    const clock = new ManualClock();
    const s = make({ file: freshFile(), clock, writerThread: false });
    for (let i = 0; i < 4500; i++) await s.publish('t', [{ key: 'k', value: `m${i}` }]);
    const g = await s.subscribe('t', 'g');
    const got = await fetchN(g, 4500, 10_000);
    await g.ack(got.slice(0, 4490));
    clock.advance(120_000);
    // Between batches the event loop turns: a publish made after the truncate started is done first.
    let truncated = false;
    const truncating = s.truncate({ olderThanMs: 60_000 }).then((n) => {
      truncated = true;
      return n;
    });
    const publishedFirst = await s.publish('t', [{ key: 'k', value: 'late' }]).then(() => !truncated);
    assert.equal(await truncating, 4490);
    assert.ok(publishedFirst, 'the publish did not wait for the whole truncate');
    assert.equal(await g.lag(), 11);
    await g.close();
    const again = await s.subscribe('t', 'g');
    assert.deepEqual(values(await fetchN(again, 11)), [...Array.from({ length: 10 }, (_, i) => `m${4490 + i}`), 'late']);
  });

  it('truncates the acknowledged part of a pack and keeps the rest readable', async () => {
    const clock = new ManualClock();
    const s = make({ file: freshFile(), clock });
    await s.publish('t', msgs('m', 10));
    const g = await s.subscribe('t', 'g');
    await g.ack((await fetchN(g, 10)).slice(0, 4));
    clock.advance(120_000);
    assert.equal(await s.truncate({ olderThanMs: 60_000 }), 4);
    assert.equal(await g.lag(), 6);
    await g.close();
    const again = await s.subscribe('t', 'g');
    assert.deepEqual(values(await fetchN(again, 6)), ['m4', 'm5', 'm6', 'm7', 'm8', 'm9']);
    await again.close();
  });

  it('reads and extends a log written one row per event (the layout before packs)', async () => {
    const file = freshFile();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const old = new BetterSqlite3(file);
    old.exec(`CREATE TABLE log (seq INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, partition INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, ts INTEGER NOT NULL);
      CREATE INDEX log_topic_seq ON log (topic, seq);
      CREATE TABLE group_offsets (topic TEXT NOT NULL, grp TEXT NOT NULL, committed_seq INTEGER NOT NULL, PRIMARY KEY (topic, grp));
      CREATE TABLE group_leases (topic TEXT NOT NULL, grp TEXT NOT NULL, owner TEXT NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (topic, grp));
      CREATE TABLE stream_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
      INSERT INTO stream_meta VALUES ('partitions', '1');`);
    const insert = old.prepare('INSERT INTO log (topic, partition, key, value, ts) VALUES (?, 0, ?, ?, ?)');
    for (let i = 0; i < 5; i++) insert.run('t', 'k', `old${i}`, 1000 + i);
    insert.run('t', 'k', 'gone', 2000);
    old.prepare('DELETE FROM log WHERE value = ?').run('gone');
    old.prepare("INSERT INTO group_offsets VALUES ('t', 'g', 2)").run();
    old.close();

    const s = make({ file });
    assert.equal(s.partitions, 1);
    await s.publish('t', msgs('new', 3));
    const sub = await s.subscribe('t', 'g');
    assert.equal(await sub.lag(), 6);
    const got = await fetchN(sub, 6);
    assert.deepEqual(values(got), ['old2', 'old3', 'old4', 'new0', 'new1', 'new2']);
    assert.deepEqual(got.map((m) => m.offset), ['3', '4', '5', '7', '8', '9'], 'a deleted offset is never reused');
    await sub.ack(got);
    assert.equal(await sub.lag(), 0);
    await sub.close();
  });

  it('keeps group offsets and leases in a file of their own: acknowledging never waits for appends', async () => {
    const file = freshFile();
    const s = make({ file, busyTimeoutMs: 100, writerThread: false });
    await s.publish('t', msgs('m', 4));
    const sub = await s.subscribe('t', 'g');
    const got = await fetchN(sub, 4);
    assert.ok(fs.existsSync(path.join(path.dirname(file), 'stream.groups.db')));
    // A producer in another process in the middle of an append holds the log's write lock.
    const producer = new BetterSqlite3(file);
    producer.exec('BEGIN IMMEDIATE');
    try {
      await sub.ack(got.slice(0, 2));
      assert.equal((await (await s.subscribe('t', 'other')).fetch(10)).length, 4, 'a new group starts too');
      await assert.rejects(s.publish('t', msgs('late', 1)), /locked|busy/i, 'the log itself is locked');
    } finally {
      producer.exec('ROLLBACK');
      producer.close();
    }
    await sub.ack(got);
    assert.equal(await sub.lag(), 0);
    await sub.close();
    await s.close();
    // Reopened, the group resumes from its offset in the groups file.
    const again = make({ file });
    await again.publish('t', msgs('n', 1));
    assert.deepEqual(values(await fetchN(await again.subscribe('t', 'g'), 1)), ['n0']);
  });

  it('refuses work after close', async () => {
    const s = new SqliteStream({ file: freshFile() });
    const sub = await s.subscribe('t', 'g');
    await s.close();
    await assert.rejects(s.publish('t', msgs('m', 1)), StreamClosedError);
    await assert.rejects(sub.fetch(1), StreamClosedError);
  });
});

describe('openStream', () => {
  it('opens the embedded log from every URL form', async () => {
    const home = path.join(root, 'home');
    const cases: [string, string][] = [
      ['', path.join(home, 'stream.db')],
      ['embedded://', path.join(home, 'stream.db')],
      [`embedded://${path.join(root, 'abs', 'e.db')}`, path.join(root, 'abs', 'e.db')],
      [`sqlite://${path.join(root, 'abs', 's.db')}`, path.join(root, 'abs', 's.db')],
      ['sqlite:rel/r.db', path.join(home, 'rel', 'r.db')],
    ];
    for (const [url, file] of cases) {
      const s = await openStream(url, { home });
      assert.ok(s instanceof SqliteStream);
      assert.equal(s.file, file, url);
      assert.ok(fs.existsSync(file), url);
      await s.close();
    }
  });

  it('hands nats:// and kafka:// to their backends and refuses other schemes', async () => {
    await assert.rejects(openStream('nats://127.0.0.1:1', { home: root, nats: { connectTimeoutMs: 300 } }), StreamUnavailableError);
    await assert.rejects(openStream('nats://localhost:4222?partitions=0', { home: root }), ValidationError);
    await assert.rejects(openStream('kafka://localhost:9092?unknown=1', { home: root }), ValidationError);
    await assert.rejects(openStream('postgres://h/db', { home: root }), ValidationError);
  });
});
