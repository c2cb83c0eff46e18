import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../../common/clock.ts';
import { endpointId } from '../../common/ids.ts';
import { STREAM_FUNCTION } from '../../common/names.ts';
import type { InferenceEvent } from '../../common/types.ts';
import { Platform } from '../../project/platform.ts';
import type { IngestBatch, Tsdb } from '../../store/tsdb-port.ts';
import { predictionRows } from '../../store/prediction-columns.ts';
import { topics } from '../../stream/port.ts';
import { tempHome } from '../../../test/e2e/helpers.ts';
import { StreamProcessor } from './stream-processor.ts';
import { writeFailure } from './write-failure.ts';

/*
 * What the stream processor does when a write fails, on the embedded default (SQLite file, embedded
 * log), with failures made to order: the tsdb's write refuses batches holding a chosen event with an
 * engine's data error, or refuses every batch for a while as a server that went away does.
 */
const T0 = Date.UTC(2026, 4, 1);
let platform: Platform;
let cleanup: () => void;

before(async () => {
  const t = tempHome('mw-write-failures-');
  cleanup = t.cleanup;
  platform = await Platform.open({ home: t.home, clock: new ManualClock(T0) });
});

after(async () => {
  await platform.close();
  cleanup();
});

async function project(name: string): Promise<{ ep: string; send: (events: (InferenceEvent | string)[]) => Promise<void>; tsdb: Tsdb }> {
  await platform.store.createProject({ name, description: '', labels: {}, monitoring: { enabled: true, basePeriodMinutes: 10, graceSeconds: 60, maxWindowsPerTick: 2, enabledAt: T0 }, createdAt: T0 });
  const ep = endpointId({ project: name, function: 'svc', model: 'm' });
  const stream = await platform.streamFor(name);
  const send = (events: (InferenceEvent | string)[]): Promise<void> =>
    stream.publish(topics.events(name), events.map((e) => ({ key: ep, value: typeof e === 'string' ? e : JSON.stringify(e) })));
  return { ep, send, tsdb: await platform.tsdbFor(name) };
}

function event(projectName: string, ep: string, id: string, i: number): InferenceEvent {
  return {
    v: 1, endpointId: ep, project: projectName, function: 'svc', model: 'm', when: new Date(T0 + i).toISOString(), latencyUs: 100 + i,
    request: { id, inputs: [[i, 2 * i]] }, response: { outputs: [i % 2] },
  };
}

/** Runs the processor until a step takes nothing; returns the errors of the steps that failed. */
async function drain(sp: StreamProcessor, maxSteps = 50): Promise<unknown[]> {
  const failures: unknown[] = [];
  for (let i = 0; i < maxSteps; i++) {
    try {
      if ((await sp.step()) === 0) return failures;
    } catch (err) {
      failures.push(err);
    }
  }
  throw new Error(`still taking events after ${maxSteps} steps`);
}

/** Events of the project's topic that the stream processors' group has not acknowledged. */
async function lag(name: string): Promise<number> {
  const sub = await (await platform.streamFor(name)).subscribe(topics.events(name), STREAM_FUNCTION);
  try {
    return await sub.lag();
  } finally {
    await sub.close();
  }
}

/** Replaces the tsdb's writes with `write` (given the real one) until the returned undo. */
function interceptWrites(tsdb: Tsdb, write: (batch: IngestBatch, real: (b: IngestBatch) => Promise<void>) => Promise<void>): () => void {
  const real = tsdb.writeIngestBatch;
  tsdb.writeIngestBatch = (batch) => write(batch, (b) => real.call(tsdb, b));
  return () => {
    tsdb.writeIngestBatch = real;
  };
}

describe('stream processor write failures', () => {
  it('splits a batch that an engine refuses for one event, stores the others, and dead-letters that one with the error', async () => {
    const { ep, send, tsdb } = await project('split');
    const ids = Array.from({ length: 200 }, (_, i) => `r${i}`);
    // The poison passes every event limit: only the (made-up) engine refuses it.
    await send(ids.map((id, i) => event('split', ep, i === 137 ? 'poison' : id, i)));
    let writes = 0;
    const tried: number[] = [];
    const undo = interceptWrites(tsdb, async (batch, real) => {
      writes++;
      const rows = predictionRows(batch.predictions);
      if (rows.some((r) => r.requestId === 'poison')) {
        tried.push(rows.length);
        throw Object.assign(new Error('value too long for type character varying(255)'), { code: '22001' });
      }
      await real(batch);
    });
    const sp = new StreamProcessor(platform, 'split', { batchSize: 500, lingerMs: 0 });
    try {
      assert.deepEqual(await drain(sp), [], 'no step failed: the batch was split within the step');
    } finally {
      undo();
      await sp.close();
    }
    const stored = await tsdb.readPredictionsByRequest('split', ep, [...ids, 'poison']);
    assert.deepEqual(stored.map((r) => r.requestId).sort(), ids.filter((_, i) => i !== 137).sort(), 'the 199 others stored once each');
    // The batch as read, then again twice (read again, and its retry), then the halves that hold the
    // poison down to the one event, which is tried three times.
    assert.deepEqual(tried, [200, 200, 200, 100, 50, 25, 13, 6, 3, 1, 1, 1]);
    assert.ok(writes < 40, `${writes} writes`);
    const letters = await tsdb.listDeadLetters('split');
    assert.equal(letters.length, 1);
    assert.equal(letters[0]!.requestId, 'poison');
    assert.equal(letters[0]!.endpointId, ep);
    assert.equal(letters[0]!.reason, 'could not be stored: value too long for type character varying(255)');
    assert.equal(JSON.parse(letters[0]!.event).request.id, 'poison');
    assert.equal((await platform.store.getEndpoint('split', ep))!.errorCount, 1, "counted on its endpoint's errors");
    assert.equal(await lag('split'), 0, 'every event acknowledged');
  });

  it('dead-letters nothing and moves no offset while the tsdb is away, and stores every event once it is back', async () => {
    const { ep, send, tsdb } = await project('away');
    const first = Array.from({ length: 30 }, (_, i) => `a${i}`);
    await send(first.map((id, i) => event('away', ep, id, i)));
    let away = true;
    const undo = interceptWrites(tsdb, async (batch, real) => {
      if (away) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
      await real(batch);
    });
    const sp = new StreamProcessor(platform, 'away', { batchSize: 10, lingerMs: 0 });
    try {
      await assert.rejects(sp.step(), /ECONNREFUSED/);
      await assert.rejects(sp.step(), /ECONNREFUSED/, 'the same events again, not the ones after them');
      assert.equal(await lag('away'), 30, 'nothing acknowledged');
      // More traffic while it is away; then it comes back.
      const second = Array.from({ length: 25 }, (_, i) => `b${i}`);
      await send(second.map((id, i) => event('away', ep, id, 100 + i)));
      away = false;
      assert.deepEqual(await drain(sp), []);
      const stored = await tsdb.readPredictionsByRequest('away', ep, [...first, ...second]);
      assert.deepEqual(stored.map((r) => r.requestId).sort(), [...first, ...second].sort(), 'all 55 stored once');
    } finally {
      undo();
      await sp.close();
    }
    assert.deepEqual(await tsdb.listDeadLetters('away'), []);
    assert.equal(await lag('away'), 0);
  });

  it('does not dead-letter an event whose write keeps timing out: it is read again later', async () => {
    const { ep, send, tsdb } = await project('slow');
    await send(['t0', 'stuck', 't2', 't3'].map((id, i) => event('slow', ep, id, i)));
    let stuck = true;
    const undo = interceptWrites(tsdb, async (batch, real) => {
      if (stuck && predictionRows(batch.predictions).some((r) => r.requestId === 'stuck')) {
        throw Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' });
      }
      await real(batch);
    });
    const sp = new StreamProcessor(platform, 'slow', { batchSize: 10, lingerMs: 0 });
    try {
      await assert.rejects(sp.step(), /statement timeout/);
      // The split stored what came before the stuck event; the rest waits.
      assert.deepEqual((await tsdb.readPredictionsByRequest('slow', ep, ['t0', 'stuck', 't2', 't3'])).map((r) => r.requestId), ['t0']);
      assert.equal(await lag('slow'), 4, 'the acknowledgement waits for the whole batch');
      stuck = false;
      assert.deepEqual(await drain(sp), []);
    } finally {
      undo();
      await sp.close();
    }
    assert.deepEqual((await tsdb.readPredictionsByRequest('slow', ep, ['t0', 'stuck', 't2', 't3'])).map((r) => r.requestId).sort(), ['stuck', 't0', 't2', 't3']);
    assert.deepEqual(await tsdb.listDeadLetters('slow'), []);
    assert.equal(await lag('slow'), 0);
  });

  it('stores a batch read again after another consumer wrote part of it only past what that one stored', async () => {
    const { ep, send, tsdb } = await project('overlap');
    const ids = Array.from({ length: 8 }, (_, i) => `o${i}`);
    await send(ids.map((id, i) => event('overlap', ep, id, i)));
    // Another processor writes the first 3 events (its checkpoint moves) after this one read its checkpoint.
    const probe = await (await platform.streamFor('overlap')).subscribe(topics.events('overlap'), 'probe');
    const messages = await probe.fetch(8);
    await probe.close();
    const consumer = `${STREAM_FUNCTION}:${topics.events('overlap')}`;
    let raced = false;
    const undo = interceptWrites(tsdb, async (batch, real) => {
      if (!raced) {
        raced = true;
        const m = messages[2]!;
        const firstThree = messages.slice(0, 3).map((x) => ({ ...event('overlap', ep, (JSON.parse(x.value) as InferenceEvent).request.id, 0), when: new Date(T0).toISOString() }));
        await real({
          predictions: firstThree.map((e) => ({ project: 'overlap', endpointId: ep, time: T0, latencyUs: 1, requestId: e.request.id, rowIndex: 0, features: [0, 0], outputs: [0] })),
          errors: [],
          histograms: [],
          checkpoint: { consumer, partition: m.partition, offset: m.offset, after: null },
        });
      }
      await real(batch);
    });
    const sp = new StreamProcessor(platform, 'overlap', { batchSize: 50, lingerMs: 0 });
    try {
      // The first write finds the checkpoint moved: the batch is read again and written past it.
      await assert.rejects(sp.step(), (err: { code?: string }) => err.code === 'stale_checkpoint');
      assert.deepEqual(await drain(sp), []);
    } finally {
      undo();
      await sp.close();
    }
    const stored = await tsdb.readPredictionsByRequest('overlap', ep, ids);
    assert.deepEqual(stored.map((r) => r.requestId).sort(), ids, 'each event stored once');
    const hist = await tsdb.readWindowHistograms('overlap', ep, T0, T0 + 600_000);
    assert.deepEqual(hist.map((h) => h.count + h.missing), [5, 5, 5], 'the histograms count the 5 events this processor wrote');
  });
});

describe('writeFailure', () => {
  it('dead-letters only for the data errors of each engine and of our own code', () => {
    const cases: [unknown, string][] = [
      [Object.assign(new Error('value too long'), { code: '22001' }), 'data'],
      [Object.assign(new Error('invalid byte sequence'), { code: '22021' }), 'data'],
      [Object.assign(new Error('check'), { code: '23514' }), 'data'],
      [Object.assign(new Error('index row size'), { code: '54000' }), 'data'],
      [Object.assign(new Error('timeout'), { code: '57014' }), 'timeout'],
      [Object.assign(new Error('admin shutdown'), { code: '57P01' }), 'infrastructure'],
      [Object.assign(new Error('no table'), { code: '42P01' }), 'infrastructure'],
      [Object.assign(new Error('deadlock'), { code: '40P01' }), 'infrastructure'],
      [Object.assign(new Error('too long'), { code: 'ER_DATA_TOO_LONG', errno: 1406, sqlState: '22001' }), 'data'],
      [Object.assign(new Error('lock wait'), { code: 'ER_LOCK_WAIT_TIMEOUT', errno: 1205, sqlState: 'HY000' }), 'timeout'],
      [Object.assign(new Error('gone'), { code: 'ER_NO_SUCH_TABLE', errno: 1146, sqlState: '42S02' }), 'infrastructure'],
      [Object.assign(new Error('lost'), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true }), 'infrastructure'],
      [Object.assign(new Error('check'), { code: 'SQLITE_CONSTRAINT_CHECK' }), 'data'],
      [Object.assign(new Error('too big'), { code: 'SQLITE_TOOBIG' }), 'data'],
      [Object.assign(new Error('busy'), { code: 'SQLITE_BUSY' }), 'infrastructure'],
      [Object.assign(new Error('full'), { code: 'SQLITE_FULL' }), 'infrastructure'],
      [Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), 'infrastructure'],
      [Object.assign(new Error('pipe'), { code: 'EPIPE' }), 'infrastructure'],
      [Object.assign(new Error('moved'), { code: 'stale_checkpoint' }), 'infrastructure'],
      [new TypeError("Cannot read properties of undefined (reading 'length')"), 'data'],
      [new RangeError('Invalid string length'), 'data'],
      [new Error('something we do not know'), 'infrastructure'],
      ['a string', 'infrastructure'],
    ];
    for (const [err, want] of cases) assert.equal(writeFailure(err), want, String((err as Error).message ?? err));
  });
});
