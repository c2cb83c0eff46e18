import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ManualClock } from '../common/clock.ts';
import { endpointId } from '../common/ids.ts';
import { STREAM_FUNCTION } from '../common/names.ts';
import type { InferenceEvent } from '../common/types.ts';
import { Platform } from '../project/platform.ts';
import { topics } from '../stream/port.ts';
import { tempHome } from '../../test/e2e/helpers.ts';
import { Controller } from './controller/controller.ts';
import { StreamProcessor } from './stream-processor/stream-processor.ts';
import { Writer, eventKindFor } from './writer/writer.ts';

const T0 = Date.UTC(2026, 4, 1);
let platform: Platform;
let clock: ManualClock;
let cleanup: () => void;
const ep = endpointId({ project: 'pipe', function: 'svc', model: 'm' });

function event(over: Partial<InferenceEvent> = {}, at = clock.now()): InferenceEvent {
  return {
    v: 1,
    endpointId: ep,
    project: 'pipe',
    function: 'svc',
    model: 'm',
    when: new Date(at).toISOString(),
    latencyUs: 1500,
    request: { id: `r-${Math.random()}`, inputs: [[1, 2], [3, 4]] },
    response: { outputs: [10, 20] },
    ...over,
  };
}

async function publish(...values: (InferenceEvent | string)[]): Promise<void> {
  const stream = await platform.streamFor('pipe');
  await stream.publish(topics.events('pipe'), values.map((v) => ({ key: ep, value: typeof v === 'string' ? v : JSON.stringify(v) })));
}

before(async () => {
  const t = tempHome('mw-pipe-');
  cleanup = t.cleanup;
  clock = new ManualClock(T0);
  platform = await Platform.open({ home: t.home, clock });
  await platform.store.createProject({ name: 'pipe', description: '', labels: {}, monitoring: { enabled: true, basePeriodMinutes: 10, graceSeconds: 60, maxWindowsPerTick: 2, enabledAt: T0 }, createdAt: T0 });
});

after(async () => {
  await platform.close();
  cleanup();
});

test('the stream processor survives bad events, counts them, and names unknown features', async () => {
  const sp = new StreamProcessor(platform, 'pipe');
  await publish('not json', JSON.stringify({ endpointId: 'nobody', project: 'pipe' }));
  assert.equal(await sp.step(), 2);
  assert.equal(sp.invalidEvents, 2, 'events naming no known endpoint are counted and dead-lettered');
  assert.equal((await platform.store.listEndpoints('pipe')).length, 0);

  await publish(event());
  await publish(event({ request: { id: 'bad', inputs: [[1, 2]] }, response: { outputs: [1, 2, 3] } }));
  await publish(event({ error: 'model blew up', request: { id: 'e1', inputs: [] } }));
  while ((await sp.step()) > 0);
  await sp.flush();
  const rec = await platform.store.getEndpoint('pipe', ep);
  assert.ok(rec);
  assert.deepEqual(rec.featureNames, ['f0', 'f1']);
  assert.deepEqual(rec.labelNames, ['p0']);
  assert.equal(rec.errorCount, 2, 'a malformed event of a known endpoint and an error event');
  assert.equal(rec.metrics.predictions5m, 2);
  assert.equal(rec.metrics.latencyAvg5mUs, 1500);
  const tsdb = await platform.tsdbFor('pipe');
  const errors = await tsdb.readErrors('pipe', ep, { start: T0, end: T0 + 600_000 });
  assert.deepEqual(errors.map((e) => e.error), ['model blew up']);
  const letters = await tsdb.listDeadLetters('pipe');
  assert.deepEqual(
    letters.map((d) => [d.reason, d.endpointId, d.requestId]),
    [['event has 1 input rows but 3 outputs', ep, 'bad'], ['event has no model', 'nobody', null], ['event is not valid JSON', null, null]],
    'refused events are dead letters, newest first, with the endpoint and request they name',
  );
  assert.equal(letters[2]!.event, 'not json');
  await sp.close();
});

test('the controller waits for the grace period, skips empty windows and bounds catch-up per tick', async () => {
  const tsdb = await platform.tsdbFor('pipe');
  const stream = await platform.streamFor('pipe');
  const now = platform.clock.now();
  await platform.store.putFunction({ project: 'pipe', name: 'app', kind: 'monitoring-application', spec: {}, labels: {}, deployed: true, status: { state: 'running' }, createdAt: now, updatedAt: now });
  // Traffic in windows 0, 2, 3 and 4 (window 1 stays empty).
  const sp = new StreamProcessor(platform, 'pipe');
  for (const w of [0, 2, 3, 4]) await publish(event({}, T0 + w * 600_000 + 1000));
  while ((await sp.step()) > 0);
  await sp.close();
  assert.equal(await tsdb.countPredictions('pipe', ep, { start: T0, end: T0 + 600_000 }), 4);

  const c = new Controller(platform, 'pipe', { holder: 'c1' });
  const other = new Controller(platform, 'pipe', { holder: 'c2' });
  const jobs = await stream.subscribe(topics.app('pipe', 'app'), 'probe');
  clock.set(T0 + 600_000 + 59_000);
  assert.equal(await c.step(), 0, 'window 0 is still in its grace period');
  clock.set(T0 + 5 * 600_000 + 60_000);
  assert.equal(await c.step(), 2, 'two windows per tick (maxWindowsPerTick)');
  assert.equal(await other.step(), 0, 'the second controller does not hold the lease');
  assert.equal(await c.step(), 2);
  assert.equal(await c.step(), 0);
  assert.equal(c.windowsSkipped, 1);
  const sent = (await jobs.fetch(100)).map((m) => (JSON.parse(m.value) as { windowStart: number }).windowStart);
  assert.deepEqual(sent, [0, 2, 3, 4].map((w) => T0 + w * 600_000));
  await jobs.close();
  await c.close();
  clock.advance(1000);
  assert.equal(await other.step(), 0, 'nothing left once the leader is gone: state is in the store');
});

test('the writer keeps history, updates drift from the newest window, and names events by kind and status', async () => {
  assert.equal(eventKindFor({ kind: 0, status: 2 }), 'data-drift-detected');
  assert.equal(eventKindFor({ kind: 1, status: 1 }), 'concept-drift-suspected');
  assert.equal(eventKindFor({ kind: 3, status: 0 }), undefined);
  const stream = await platform.streamFor('pipe');
  const w = new Writer(platform, 'pipe');
  const msg = (ws: number, value: number, status: 0 | 1 | 2) => ({
    key: ep,
    value: JSON.stringify({
      type: 'outputs', project: 'pipe', endpointId: ep, app: 'histogram-data-drift', windowStart: ws, windowEnd: ws + 600_000,
      results: [{ name: 'general_drift', value, kind: 0, status, extraData: { features: { f0: { tvd: value } } } }],
      metrics: [{ name: 'tvd_mean', value }],
    }),
  });
  await stream.publish(topics.writer('pipe'), [msg(T0 + 600_000, 0.9, 2), msg(T0, 0.1, 0)]);
  await stream.publish(topics.writer('pipe'), [
    { key: ep, value: JSON.stringify({ type: 'app-failed', project: 'pipe', endpointId: ep, app: 'x', windowStart: T0, windowEnd: T0 + 600_000, error: 'boom' }) },
  ]);
  while ((await w.step()) > 0);
  const rec = (await platform.store.getEndpoint('pipe', ep))!;
  assert.equal(rec.driftStatus, 'detected', 'an older window written later does not overwrite the newer status');
  assert.equal(rec.driftMeasures.general_drift, 0.9);
  const results = await (await platform.tsdbFor('pipe')).listResults('pipe', { endpointId: ep });
  assert.equal(results.length, 2);
  const events = await platform.store.listEvents('pipe', { endpointId: ep });
  assert.deepEqual(events.map((e) => e.kind).sort(), ['data-drift-detected', 'mm-app-failed']);
  // Delivered again (at least once): the history is replaced, not duplicated.
  await stream.publish(topics.writer('pipe'), [msg(T0, 0.1, 0)]);
  while ((await w.step()) > 0);
  assert.equal((await (await platform.tsdbFor('pipe')).listResults('pipe', { endpointId: ep })).length, 2);
  // A batch delivered again after a writer crashed before acknowledging it: each event recorded once.
  const failed = { type: 'app-failed', project: 'pipe', endpointId: ep, app: 'x', windowStart: T0, windowEnd: T0 + 600_000, error: 'boom again' };
  await stream.publish(topics.writer('pipe'), [msg(T0 + 600_000, 0.9, 2), { key: ep, value: JSON.stringify(failed) }]);
  while ((await w.step()) > 0);
  const again = await platform.store.listEvents('pipe', { endpointId: ep });
  assert.deepEqual(again.map((e) => e.kind).sort(), ['data-drift-detected', 'mm-app-failed']);
  assert.equal(again.find((e) => e.kind === 'mm-app-failed')?.resultName, null, 'an event of no result names none');
  assert.equal(again.find((e) => e.kind === 'mm-app-failed')?.message, 'boom', 'the first record stays');
  await w.close();
});

test('two projects sharing one store and stream keep separate checkpoints', async () => {
  const now = platform.clock.now();
  await platform.store.createProject({ name: 'other', description: '', labels: {}, monitoring: null, createdAt: now });
  const stream = await platform.streamFor('other');
  const otherEp = endpointId({ project: 'other', function: 'svc', model: 'm' });
  const ev = (i: number) => JSON.stringify(event({ project: 'other', endpointId: otherEp, request: { id: `o${i}`, inputs: [[i, i]] }, response: { outputs: [i] } }));
  // 'pipe' has consumed offsets far past these: they must not be mistaken for replays.
  await stream.publish(topics.events('other'), Array.from({ length: 5 }, (_, i) => ({ key: otherEp, value: ev(i) })));
  const sp = new StreamProcessor(platform, 'other');
  while ((await sp.step()) > 0);
  await sp.close();
  const tsdb = await platform.tsdbFor('other');
  assert.equal(await tsdb.countPredictions('other', otherEp, { start: 0, end: now + 3_600_000 }), 5);
});

test('the stream processor parses a batch while the one before is written, commits in order, and a failed write leaves the rest for later', async () => {
  await platform.store.createProject({ name: 'piped', description: '', labels: {}, monitoring: { enabled: true, basePeriodMinutes: 10, graceSeconds: 60, maxWindowsPerTick: 2, enabledAt: T0 }, createdAt: T0 });
  const id = endpointId({ project: 'piped', function: 'svc', model: 'm' });
  const stream = await platform.streamFor('piped');
  const ids = Array.from({ length: 9 }, (_, i) => `q${i}`);
  await stream.publish(
    topics.events('piped'),
    ids.map((rid) => ({ key: id, value: JSON.stringify(event({ endpointId: id, project: 'piped', request: { id: rid, inputs: [[1, 2]] }, response: { outputs: [3] } })) })),
  );
  const tsdb = await platform.tsdbFor('piped');
  assert.equal(tsdb.writesInProcess, false, 'a SQLite file takes ingest batches on its writer thread');
  const { writeIngestBatch, getCheckpoint } = tsdb;
  // Writes made slow, as a tsdb server's can be.
  const trace: string[] = [];
  let writes = 0;
  let failOn = 2;
  tsdb.getCheckpoint = (consumer, partition) => {
    trace.push('read');
    return getCheckpoint.call(tsdb, consumer, partition);
  };
  tsdb.writeIngestBatch = async (batch) => {
    const n = ++writes;
    trace.push(`write ${n}`);
    await new Promise((r) => setTimeout(r, 30));
    if (n === failOn) throw new Error('tsdb went away');
    await writeIngestBatch.call(tsdb, batch);
    trace.push(`written ${n}`);
  };
  try {
    const sp = new StreamProcessor(platform, 'piped', { batchSize: 3, lingerMs: 0 });
    await assert.rejects(sp.step(), /tsdb went away/);
    // Batch 2 was read while batch 1 was being written; batch 3 was read too, and never written after the failure.
    assert.deepEqual(trace, ['read', 'write 1', 'read', 'written 1', 'write 2', 'read']);
    assert.equal(sp.processedEvents, 3);
    await sp.close();
    failOn = 0;
    const again = new StreamProcessor(platform, 'piped', { batchSize: 3, lingerMs: 0 });
    assert.equal(await again.step(), 6, 'the failed batch and the one after it come again');
    await again.close();
  } finally {
    tsdb.writeIngestBatch = writeIngestBatch;
    tsdb.getCheckpoint = getCheckpoint;
  }
  const rows = await tsdb.readPredictionsByRequest('piped', id, ids);
  assert.deepEqual(rows.map((r) => r.requestId).sort(), ids, 'every event stored once');
});

test('with a tsdb that writes on this thread (SQLite without its writer thread) the stream processor reads the next batch only once the last is written', async () => {
  await platform.store.createProject({ name: 'serial', description: '', labels: {}, monitoring: { enabled: true, basePeriodMinutes: 10, graceSeconds: 60, maxWindowsPerTick: 2, enabledAt: T0 }, createdAt: T0 });
  const id = endpointId({ project: 'serial', function: 'svc', model: 'm' });
  const ids = Array.from({ length: 6 }, (_, i) => `s${i}`);
  await (await platform.streamFor('serial')).publish(
    topics.events('serial'),
    ids.map((rid) => ({ key: id, value: JSON.stringify(event({ endpointId: id, project: 'serial', request: { id: rid, inputs: [[1, 2]] }, response: { outputs: [3] } })) })),
  );
  const tsdb = await platform.tsdbFor('serial');
  // As with MODELWATCH_SQLITE_WRITER_THREAD=0 (or an in-memory database).
  Object.defineProperty(tsdb, 'writesInProcess', { value: true, configurable: true });
  const { writeIngestBatch, getCheckpoint } = tsdb;
  const trace: string[] = [];
  tsdb.getCheckpoint = (consumer, partition) => {
    trace.push('read');
    return getCheckpoint.call(tsdb, consumer, partition);
  };
  tsdb.writeIngestBatch = async (batch) => {
    trace.push('write');
    await writeIngestBatch.call(tsdb, batch);
    trace.push('written');
  };
  try {
    const sp = new StreamProcessor(platform, 'serial', { batchSize: 3, lingerMs: 0 });
    assert.equal(await sp.step(), 6);
    assert.deepEqual(trace, ['read', 'write', 'written', 'read', 'write', 'written']);
    await sp.close();
  } finally {
    tsdb.writeIngestBatch = writeIngestBatch;
    tsdb.getCheckpoint = getCheckpoint;
    delete (tsdb as { writesInProcess?: boolean }).writesInProcess;
  }
});

test('the stream processor reads a batch in chunks and writes it whole: one write per partition, and events at or below the checkpoint skipped across chunks', async () => {
  await platform.store.createProject({ name: 'chunked', description: '', labels: {}, monitoring: { enabled: true, basePeriodMinutes: 10, graceSeconds: 60, maxWindowsPerTick: 2, enabledAt: T0 }, createdAt: T0 });
  const id = endpointId({ project: 'chunked', function: 'svc', model: 'm' });
  const stream = await platform.streamFor('chunked');
  const ids = Array.from({ length: 2345 }, (_, i) => `c${i}`);
  await stream.publish(
    topics.events('chunked'),
    ids.map((rid, i) => ({ key: id, value: JSON.stringify(event({ endpointId: id, project: 'chunked', request: { id: rid, inputs: [[i, 2]] }, response: { outputs: [3] } })) })),
  );
  const tsdb = await platform.tsdbFor('chunked');
  const { writeIngestBatch } = tsdb;
  const written: { rows: number; offset: string | undefined }[] = [];
  tsdb.writeIngestBatch = async (batch) => {
    written.push({ rows: batch.predictions.length, offset: batch.checkpoint?.offset });
    await writeIngestBatch.call(tsdb, batch);
  };
  try {
    // A crash after the first 1,100 events were written, before they were acknowledged: they come again.
    const first = new StreamProcessor(platform, 'chunked', { batchSize: 1100, lingerMs: 0 });
    const sub = await stream.subscribe(topics.events('chunked'), STREAM_FUNCTION);
    const head = await sub.fetch(1100);
    await sub.close();
    assert.equal(head.length, 1100);
    const last = head[head.length - 1]!;
    await writeIngestBatch.call(tsdb, { predictions: [], errors: [], histograms: [], checkpoint: { consumer: `${STREAM_FUNCTION}:${topics.events('chunked')}`, partition: last.partition, offset: last.offset } });
    assert.equal(await first.step(), 2345);
    await first.close();
  } finally {
    tsdb.writeIngestBatch = writeIngestBatch;
  }
  // Batches of 1,100 events (read 500 at a time): the first all at or below the checkpoint, so
  // nothing of it is written again; the second and third whole, each in one write.
  assert.deepEqual(written.map((w) => w.rows), [0, 1100, 145]);
  assert.equal(await tsdb.countPredictions('chunked', id, { start: 0, end: Date.now() + 86_400_000 }), 1245, 'only what the checkpoint did not cover is stored');
});

test('after its endpoint store connection is replaced, the stream processor registers endpoints in the new store', async () => {
  await platform.store.createProject({ name: 'moved', description: '', labels: {}, monitoring: { enabled: true, basePeriodMinutes: 10, graceSeconds: 60, maxWindowsPerTick: 2, enabledAt: T0 }, createdAt: T0 });
  const id = endpointId({ project: 'moved', function: 'svc', model: 'm' });
  const send = async (rid: string) =>
    (await platform.streamFor('moved')).publish(topics.events('moved'), [
      { key: id, value: JSON.stringify(event({ endpointId: id, project: 'moved', request: { id: rid, inputs: [[1, 2]] }, response: { outputs: [3] } })) },
    ]);
  const sp = new StreamProcessor(platform, 'moved', { lingerMs: 0 });
  await send('before');
  assert.equal(await sp.step(), 1);
  assert.ok(await platform.store.getEndpoint('moved', id), 'registered in the platform store');
  const elsewhere = `sqlite://${platform.options.home}/moved-endpoints.db`;
  await platform.store.setCredentials('moved', { endpointStoreConnection: elsewhere });
  await send('after');
  assert.equal(await sp.step(), 1);
  const store = await platform.endpointStoreFor('moved');
  assert.equal(store.url, elsewhere);
  const rec = await store.getEndpoint('moved', id);
  assert.ok(rec, 'registered again where the project keeps its endpoints now');
  assert.deepEqual(rec.featureNames, ['f0', 'f1']);
  assert.ok(rec.lastRequest !== null, 'and its request times are counted there');
  await sp.close();
});

test('a writer batch that fails to write is written later, not skipped by the acknowledgement of the next one', async () => {
  await platform.store.createProject({ name: 'wfail', description: '', labels: {}, monitoring: null, createdAt: T0 });
  const stream = await platform.streamFor('wfail');
  const out = (app: string, ws: number) => ({
    key: ep,
    value: JSON.stringify({ type: 'outputs', project: 'wfail', endpointId: ep, app, windowStart: ws, windowEnd: ws + 600_000, results: [{ name: 'r', value: 1, kind: 0, status: 2 }], metrics: [] }),
  });
  const tsdb = await platform.tsdbFor('wfail');
  const { writeResults } = tsdb;
  let fail = true;
  tsdb.writeResults = async (rows) => {
    if (fail) throw new Error('tsdb went away');
    await writeResults.call(tsdb, rows);
  };
  const w = new Writer(platform, 'wfail');
  try {
    await stream.publish(topics.writer('wfail'), [out('a', T0)]);
    await assert.rejects(w.step(), /tsdb went away/);
    fail = false;
    await stream.publish(topics.writer('wfail'), [out('b', T0)]);
    while ((await w.step()) > 0);
  } finally {
    tsdb.writeResults = writeResults;
    await w.close();
  }
  const results = await tsdb.listResults('wfail', { endpointId: ep });
  assert.deepEqual(results.map((r) => r.app).sort(), ['a', 'b']);
  assert.equal((await platform.store.listEvents('wfail', { endpointId: ep })).length, 2);
});
