import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { ValidationError } from '../../common/errors.ts';
import type { ThreadClient } from '../../common/worker-thread.ts';
import { openStore, openTsdb, resolveWriterThread } from '../connect.ts';
import type { KyselyTsdb } from '../kysely-tsdb.ts';
import type { IngestBatch, PredictionRow, Tsdb, WindowHistogram } from '../tsdb-port.ts';
import { packIngestBatch, unpackIngestBatch, type PackedIngestBatch } from './ingest-message.ts';
import { predictionRows } from '../prediction-columns.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-ingest-thread-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
const T0 = Date.UTC(2026, 0, 1);
const WINDOW = 600_000;

async function open(writerThread: boolean, onWriterThreadError?: (err: Error) => void): Promise<{ tsdb: KyselyTsdb; file: string }> {
  const file = path.join(dir, `t${++n}.db`);
  const tsdb = (await openTsdb(`sqlite://${file}`, { migrate: true, writerThread, onWriterThreadError })) as KyselyTsdb;
  if (writerThread) assert.equal(await tsdb.ingestThreadStarted(), true);
  return { tsdb, file };
}

function prediction(i: number, over: Partial<PredictionRow> = {}): PredictionRow {
  return {
    project: i % 3 === 0 ? 'p2' : 'p1',
    endpointId: `ep-${i % 4}`,
    time: T0 + i * 997,
    latencyUs: 100.4 + i,
    requestId: i % 5 === 0 ? `réq-${i}-✓` : `req-${i}`,
    rowIndex: i % 2,
    features: [i, i / 7, 'x', null],
    outputs: [i % 2],
    labels: i % 4 === 0 ? { team: 'ünïcode', n: String(i) } : null,
    ...(i % 3 === 0 ? { featuresJson: JSON.stringify([i, i / 7, 'x', null]), outputsJson: `[${i % 2}]` } : {}),
    ...over,
  };
}

function histogram(endpoint: number, feature: string, counts: number[], over: Partial<WindowHistogram> = {}): WindowHistogram {
  const count = counts.reduce((a, b) => a + b, 0);
  return {
    project: 'p1', endpointId: `ep-${endpoint}`, windowStart: T0, windowEnd: T0 + WINDOW, feature, counts, atMax: 1, categories: null, categoryOther: 0,
    count, missing: 1, sum: count * 2, sumSq: count * 5, min: 0.5, max: 9, ...over,
  };
}

/** Batches covering what a write does: rows (some sharing a request id), rollups, errors, dead letters, histograms added to stored ones, checkpoints, a batch delivered again. */
function batches(): IngestBatch[] {
  const out: IngestBatch[] = [];
  for (let b = 0; b < 4; b++) {
    out.push({
      // Rows 0..59, then 60..119, …, and a second request with the id of each batch's first.
      predictions: [...Array.from({ length: 60 }, (_, k) => prediction(b * 60 + k)), prediction(b * 60, { time: T0 + b * 60 * 997 + 1 })],
      errors: [{ project: 'p1', endpointId: 'ep-1', time: T0 + b, requestId: `e${b}`, error: `bad\u0000input ${b}` }],
      deadLetters: [
        { project: 'p1', endpointId: b % 2 ? 'ep-1' : null, requestId: null, partition: b % 2, offset: String(10 + b), time: T0 + b, reason: `refused ${b}`, event: `{"x":"\uFFFD${b}"}`, eventChars: 70_000 },
      ],
      histograms: [
        histogram(0, 'f0', [b, 1, 2]),
        histogram(0, 'f1', [1, b], { atMax: b }),
        histogram(b % 2, 'f0', [3, 0, 1]),
        histogram(0, 'origin', [], { atMax: 0, categories: b % 2 ? { USA: b, 'it\'s "x"': 1 } : { Japan: 2 }, categoryOther: b, count: b + 3, min: null, max: null }),
      ],
      // Partition 0 takes offsets 10 and 12, partition 1 11 and 13.
      checkpoint: { consumer: 'stream', partition: b % 2, offset: String(10 + b), after: b < 2 ? null : String(8 + b) },
    });
  }
  // Delivered again after a crash: at or below the checkpoint, so skipped whole.
  out.push({ ...out[2]!, predictions: [prediction(1000)] });
  return out;
}

/** Every table a write touches, in a fixed order. */
function dump(file: string): Record<string, unknown[]> {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    const all = (q: string): unknown[] => db.prepare(q).all();
    return {
      predictions: all('SELECT project, endpoint_id, time, latency_us, request_id, row_index, features, outputs, labels FROM predictions ORDER BY project, endpoint_id, request_id, row_index'),
      rollups: all('SELECT * FROM prediction_rollups ORDER BY project, endpoint_id, bucket_start'),
      errors: all('SELECT project, endpoint_id, time, request_id, error FROM errors ORDER BY request_id'),
      deadLetters: all('SELECT project, endpoint_id, request_id, stream_partition, stream_offset, time, reason, event, event_chars FROM dead_letters ORDER BY id'),
      histograms: all('SELECT * FROM window_histograms ORDER BY project, endpoint_id, window_start, feature'),
      checkpoints: all('SELECT * FROM ingest_checkpoints ORDER BY consumer, stream_partition'),
    };
  } finally {
    db.close();
  }
}

/** Turns of the event loop (setImmediate callbacks run) until `p` settles. */
async function turnsDuring(p: Promise<unknown>): Promise<number> {
  let turns = 0;
  let done = false;
  const spin = (): void => {
    if (done) return;
    turns++;
    setImmediate(spin);
  };
  setImmediate(spin);
  try {
    await p;
  } finally {
    done = true;
  }
  return turns;
}

function threadOf(tsdb: Tsdb): ThreadClient<PackedIngestBatch> {
  const thread = (tsdb as unknown as { ingestThread?: ThreadClient<PackedIngestBatch> }).ingestThread;
  assert.ok(thread, 'the tsdb has a writer thread');
  return thread;
}

describe('SQLite ingest writer thread', () => {
  it('stores exactly what writing on the calling thread stores', async () => {
    const threaded = await open(true);
    const inline = await open(false);
    try {
      assert.equal(threaded.tsdb.writesInProcess, false);
      assert.equal(inline.tsdb.writesInProcess, true);
      for (const b of batches()) {
        await threaded.tsdb.writeIngestBatch(b);
        await inline.tsdb.writeIngestBatch(b);
      }
      const got = dump(threaded.file);
      assert.equal(got.predictions!.length, 244, 'rows 0–239, and each batch\'s second request with the id of its first');
      assert.equal((got.predictions as { request_id: string }[]).filter((p) => p.request_id === 'réq-60-✓').length, 2, 'requests that share an id are each stored');
      assert.deepEqual((got.deadLetters as { reason: string }[]).map((d) => d.reason), ['refused 0', 'refused 1', 'refused 2', 'refused 3']);
      assert.ok(!(got.predictions as { request_id: string }[]).some((p) => p.request_id === 'req-1000'), 'the batch delivered again is skipped');
      assert.equal(got.checkpoints!.length, 2);
      const origin = (got.histograms as { endpoint_id: string; feature: string; categories: string; category_other: number; at_max: number }[]).find((h) => h.feature === 'origin');
      assert.deepEqual(JSON.parse(origin?.categories ?? 'null'), { Japan: 4, USA: 4, 'it\'s "x"': 2 }, 'category counts of the four batches added up');
      assert.equal(origin?.category_other, 6);
      const f1 = (got.histograms as { feature: string; at_max: number }[]).find((h) => h.feature === 'f1');
      assert.equal(f1?.at_max, 6, 'values at the maximum added up');
      assert.deepEqual(got, dump(inline.file));
      // A batch read before another consumer moved the checkpoint: refused whole, on either path.
      const stale: IngestBatch = { predictions: [prediction(5000)], errors: [], histograms: [], checkpoint: { consumer: 'stream', partition: 0, offset: '20', after: '10' } };
      for (const t of [threaded.tsdb, inline.tsdb]) await assert.rejects(t.writeIngestBatch(stale), (err: { code?: string }) => err.code === 'stale_checkpoint');
      assert.deepEqual(dump(threaded.file), got, 'nothing of it stored');
    } finally {
      await threaded.tsdb.close();
      await inline.tsdb.close();
    }
  });

  it('leaves checkpoints to the thread while it runs, and gives them back to the shared handle when it stops', async () => {
    const { tsdb, file } = await open(true);
    // A store on the same file shares the process's handle with the tsdb (see registry.ts).
    const store = await openStore(`sqlite://${file}`);
    const raw = (tsdb as unknown as { backend: { sqlite: BetterSqlite3.Database } }).backend.sqlite;
    try {
      await new Promise((r) => setImmediate(r));
      assert.equal(raw.pragma('wal_autocheckpoint', { simple: true }), 0, 'no checkpoint on this event loop');
      const before = fs.statSync(file).size;
      await tsdb.writeIngestBatch({ predictions: Array.from({ length: 20_000 }, (_, i) => prediction(i, { requestId: `cp-${i}` })), errors: [], histograms: [] });
      // Far past SQLite's 1,000 pages of WAL: the thread's commit copied them into the file.
      assert.ok(fs.statSync(file).size > before + 2_000_000, `the database file grew from ${before} to ${fs.statSync(file).size} bytes`);
    } finally {
      await tsdb.close();
    }
    try {
      assert.equal(raw.pragma('wal_autocheckpoint', { simple: true }), 1000, 'the handle checkpoints again once the thread is gone');
    } finally {
      await store.close();
    }
  });

  it('gives checkpoints back only once every tsdb thread on the file has stopped', async () => {
    const { tsdb: a, file } = await open(true);
    const b = (await openTsdb(`sqlite://${file}`, { writerThread: true })) as KyselyTsdb;
    const raw = (a as unknown as { backend: { sqlite: BetterSqlite3.Database } }).backend.sqlite;
    try {
      assert.equal(await b.ingestThreadStarted(), true);
      await new Promise((r) => setImmediate(r));
      assert.equal(raw.pragma('wal_autocheckpoint', { simple: true }), 0);
      await a.close();
      assert.equal(raw.pragma('wal_autocheckpoint', { simple: true }), 0, "the other tsdb's thread still checkpoints");
    } finally {
      await a.close();
    }
    const store = await openStore(`sqlite://${file}`);
    try {
      await b.close();
      assert.equal(raw.pragma('wal_autocheckpoint', { simple: true }), 1000);
    } finally {
      await store.close();
    }
  });

  it('lets the event loop turn while a batch is written, where the calling thread holds it', async () => {
    const big: IngestBatch = { predictions: Array.from({ length: 20_000 }, (_, i) => prediction(i, { requestId: `big-${i}` })), errors: [], histograms: [] };
    const threaded = await open(true);
    const inline = await open(false);
    try {
      assert.ok((await turnsDuring(threaded.tsdb.writeIngestBatch(big))) > 0, 'timers and I/O ran during the write');
      assert.equal(await turnsDuring(inline.tsdb.writeIngestBatch(big)), 0, 'nothing else ran during the write');
      assert.deepEqual(dump(threaded.file).predictions, dump(inline.file).predictions);
    } finally {
      await threaded.tsdb.close();
      await inline.tsdb.close();
    }
  });

  it('writes on the calling thread, once, what the thread was given when it died', async () => {
    const failures: Error[] = [];
    const { tsdb, file } = await open(true, (err) => failures.push(err));
    try {
      const thread = threadOf(tsdb);
      const [first, second] = [0, 1].map((b) => ({
        predictions: Array.from({ length: 3000 }, (_, i) => prediction(b * 3000 + i)),
        errors: [],
        histograms: [histogram(0, 'f0', [1, 1])],
        checkpoint: { consumer: 'stream', partition: 0, offset: String(b + 1) },
      }));
      const pending = tsdb.writeIngestBatch(first!);
      // Dies with the batch posted: committed or not, it must end up stored once.
      await thread.kill();
      await pending;
      assert.equal(thread.ready, false);
      assert.deepEqual(failures.map((e) => e.message), ['the thread exited (1)'], 'the failure is reported once');
      assert.equal(tsdb.writesInProcess, true, 'the calling thread writes from now on');
      await tsdb.writeIngestBatch(second!);
      const got = dump(file);
      assert.equal(got.predictions!.length, 6000);
      assert.deepEqual((got.histograms as { counts: string }[]).map((h) => h.counts), ['[2,2]'], 'each batch added once');
    } finally {
      await tsdb.close();
    }
  });

  it('finishes the writes posted to it before the tsdb closes', async () => {
    const { tsdb, file } = await open(true);
    const writes = [0, 1, 2].map((b) =>
      tsdb.writeIngestBatch({
        predictions: Array.from({ length: 2000 }, (_, i) => prediction(b * 2000 + i)),
        errors: [],
        histograms: [],
        checkpoint: { consumer: 'stream', partition: 0, offset: String(b + 1) },
      }),
    );
    await tsdb.close();
    await Promise.all(writes);
    assert.equal(dump(file).predictions!.length, 6000);
  });

  it('is not used for an in-memory database or when turned off', async () => {
    const memory = (await openTsdb('sqlite://:memory:', { migrate: true })) as KyselyTsdb;
    try {
      assert.equal(memory.writesInProcess, true);
      assert.equal(await memory.ingestThreadStarted(), false);
    } finally {
      await memory.close();
    }
    assert.equal(resolveWriterThread(undefined, {}), true);
    assert.equal(resolveWriterThread(undefined, { MODELWATCH_SQLITE_WRITER_THREAD: '0' }), false);
    assert.equal(resolveWriterThread(undefined, { MODELWATCH_SQLITE_WRITER_THREAD: ' False ' }), false);
    assert.equal(resolveWriterThread(undefined, { MODELWATCH_SQLITE_WRITER_THREAD: 'true' }), true);
    assert.equal(resolveWriterThread(true, { MODELWATCH_SQLITE_WRITER_THREAD: '0' }), true, 'the option wins');
    assert.throws(() => resolveWriterThread(undefined, { MODELWATCH_SQLITE_WRITER_THREAD: 'sometimes' }), ValidationError);
  });
});

describe('packed ingest batches', () => {
  it('carry every stored column of every row, and the rest of the batch as it is', () => {
    const batch = batches()[0]!;
    const back = unpackIngestBatch(packIngestBatch(batch));
    assert.deepEqual(back.errors, batch.errors);
    assert.deepEqual(back.histograms, batch.histograms);
    assert.deepEqual(back.checkpoint, batch.checkpoint);
    assert.equal(back.predictions.length, batch.predictions.length);
    const rows = predictionRows(back.predictions);
    predictionRows(batch.predictions).forEach((p, i) => {
      const q = rows[i]!;
      assert.deepEqual(
        [q.project, q.endpointId, q.time, q.latencyUs, q.requestId, q.rowIndex, q.featuresJson, q.outputsJson, q.labels],
        [p.project, p.endpointId, p.time, Math.round(p.latencyUs), p.requestId, p.rowIndex, p.featuresJson ?? JSON.stringify(p.features), p.outputsJson ?? JSON.stringify(p.outputs), p.labels],
      );
    });
  });

  it('refuse columns that do not add up', () => {
    const packed = packIngestBatch(batches()[0]!);
    const p = packed.predictions;
    assert.throws(() => unpackIngestBatch({ ...packed, predictions: { ...p, rows: p.rows + 1 } }), /wrong length/);
    assert.throws(() => unpackIngestBatch({ ...packed, predictions: { ...p, text: [...p.text, 'x'] } }), /characters/);
  });
});
