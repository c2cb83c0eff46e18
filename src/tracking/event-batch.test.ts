import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeEventBatch, EventBatchBuilder, eventBatchMiddleBytes, NumericEventStore, type EventBatch, type EventBatchMiddleBytes } from './event-batch.ts';
import { seededRandom } from './seeded-random.ts';
import { EventEncoder, type EndpointInfo, type EventArgs } from './event.ts';

const endpoint: EndpointInfo = {
  endpointId: 'ep-a',
  project: 'p',
  function: 'serving',
  model: 'm',
  tag: 'latest',
  modelUri: 'store://models/p/m:latest',
  featureNames: ['x0', 'x1', 'x2'],
  labelNames: ['y'],
  labels: { team: 'risk' },
};
const other: EndpointInfo = { endpointId: 'ep-b', project: 'p', function: 'serving', model: 'n', featureNames: ['a', 'b'] };

const args = (i: number, extra: Partial<EventArgs> = {}): EventArgs => ({
  start: { ns: 0n, ms: 1_764_000_000_123.456 + i },
  latencyUs: 250 + i,
  requestId: `req-${i}`,
  inputs: [[i, i / 3, -i * 1e-7]],
  outputs: [i * 0.5],
  ...extra,
});

/** Each event's middle, as `eventBatchMiddleBytes` wrote it. */
function middlesOf(read: EventBatchMiddleBytes): string[] {
  return Array.from(read.ends, (end, i) => read.out.text(i === 0 ? 0 : read.ends[i - 1], end));
}

/** Adds every request to one batch (as numbers when the store takes it, else as text) and decodes it. */
function roundTrip(requests: [EventEncoder, EventArgs][], store = new NumericEventStore()): { values: string[]; numeric: number } {
  const builder = new EventBatchBuilder(store);
  let numeric = 0;
  for (const [enc, a] of requests) {
    const num = store.add(enc, a);
    if (num !== undefined) {
      numeric += 1;
      builder.addNumeric(num);
    } else {
      builder.addText({ key: enc.endpoint.endpointId, value: enc.encode(a) });
    }
  }
  const batch = builder.build();
  assert.equal(batch.count, requests.length);
  const messages = decodeEventBatch(batch);
  assert.deepEqual(
    messages.map((m) => m.key),
    requests.map(([enc]) => enc.endpoint.endpointId),
  );
  return { values: messages.map((m) => m.value), numeric };
}

describe('event batches', () => {
  const a = new EventEncoder(endpoint);
  const b = new EventEncoder(other);

  it('decodes numeric events to exactly the text EventEncoder writes, for every kind of number', () => {
    const awkward = [0, -0, 1e21, 1e-7, 123456789.12345679, -5e-324, Number.MAX_VALUE, 0.1 + 0.2, Number.NaN, Number.POSITIVE_INFINITY];
    const requests: [EventEncoder, EventArgs][] = [
      [a, args(1)],
      [a, args(2, { inputs: [awkward.slice(0, 3), awkward.slice(3, 6), awkward.slice(6, 9)], outputs: [1, 2, 3] })],
      // One output row of numbers per input row (several labels).
      [b, args(3, { inputs: [[1, 2]], outputs: [[0.25, 0.75]] })],
      [a, args(4, { requestId: 'quote " backslash \\ newline \n tab \t nul \u0000 del \x7f latin é ÿ', outputs: [awkward[9]!] })],
      // The request's input names, when they are the endpoint's, change nothing.
      [a, args(5, { featureNames: ['x0', 'x1', 'x2'] })],
      [b, args(6, { inputs: [[3, 4]], outputs: [-0] })],
      [a, args(7, { requestId: 'a long id ' + 'x'.repeat(1014) })],
      // Kept as text: an id with a character past U+00FF, and one of more than 1,024 characters.
      [a, args(8, { requestId: 'unicode é 😀' })],
      [a, args(9, { requestId: 'a lone surrogate \ud800' })],
      [b, args(10, { requestId: 'a longer id ' + 'x'.repeat(1013) })],
    ];
    const { values, numeric } = roundTrip(requests);
    assert.equal(numeric, requests.length - 3, 'all but the last three are kept as numbers');
    assert.deepEqual(
      values,
      requests.map(([enc, x]) => enc.encode(x)),
    );
    // And the text is the event itself.
    const first = JSON.parse(values[0]!) as Record<string, unknown>;
    assert.deepEqual(first.request, { id: 'req-1', inputs: [[1, 1 / 3, -1e-7]] });
    assert.deepEqual(first.response, { outputs: [0.5] });
    assert.equal(first.when, '2025-11-24T16:00:00.124456Z');
  });

  it('writes the middles of numeric events as EventEncoder.middle does, for every kind of number and shape', () => {
    const awkward = [0, -0, 1e21, 1e-7, 123456789.12345679, -5e-324, Number.MAX_VALUE, 0.1 + 0.2, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -1.5e-300, 2 ** 53 + 2];
    const u = seededRandom(11);
    const requests: [EventEncoder, EventArgs][] = [
      [a, args(1, { inputs: [awkward.slice(0, 3), awkward.slice(3, 6), awkward.slice(6, 9)], outputs: [awkward[9], awkward[10], awkward[11]] })],
      [b, args(2, { inputs: [[1, 2]], outputs: [[awkward[12]!, -0]] })],
      [b, args(3, { inputs: [[3, 4], [5, 6]], outputs: [[0.25, 0.75], [Number.NaN, 1]] })],
      [a, args(4, { inputs: [[]] as number[][], outputs: [[]] as unknown[] })],
      [a, args(5, { requestId: 'quote " backslash \\ newline \n é \u0000 \x7f ÿ' })],
    ];
    for (let i = 0; i < 300; i++) {
      const rows = 1 + Math.floor(u() * 3);
      const x = () => (u() - 0.5) * 10 ** Math.floor(u() * 40 - 20);
      requests.push([a, args(100 + i, { inputs: Array.from({ length: rows }, () => [x(), x(), x()]), outputs: Array.from({ length: rows }, x), latencyUs: Math.floor(u() * 1e6) })]);
    }
    const store = new NumericEventStore();
    const builder = new EventBatchBuilder(store);
    for (const [enc, x] of requests) builder.addNumeric(store.add(enc, x)!);
    const read = eventBatchMiddleBytes(builder.build())!;
    assert.deepEqual(
      middlesOf(read).map((m, i) => read.encoders[read.encoderOf[i]!]!.head + m + read.encoders[read.encoderOf[i]!]!.plainTail),
      requests.map(([enc, x]) => enc.encode(x)),
    );
    // A batch with a text event has no middles.
    const mixed = new EventBatchBuilder(store);
    mixed.addText({ key: 'ep-a', value: '{}' });
    assert.equal(eventBatchMiddleBytes(mixed.build()), undefined);
  });

  it('keeps as text, in order, the requests that are not plain numbers', () => {
    const notNumbers: EventArgs[] = [
      args(10, { inputs: [['a', 1, 2]] }),
      args(11, { inputs: [[1, 2, 3], [4, 5]] }), // ragged
      args(12, { inputs: [] }),
      args(13, { outputs: [null] as unknown[] }),
      args(14, { outputs: [[1, 2], 3] as unknown[] }),
      args(15, { outputs: undefined }),
      args(16, { error: 'model failed' }),
      args(17, { metrics: { score: 1 } }),
      args(18, { featureNames: ['other', 'names', 'here'] }),
      args(19, { inputs: [Array.from({ length: 5000 }, (_, i) => i)] }), // more numbers than a store chunk keeps per event
      // eslint-disable-next-line no-sparse-arrays
      args(20, { inputs: [[1, , 3]] }),
    ];
    const store = new NumericEventStore();
    for (const x of notNumbers) assert.equal(store.add(a, x), undefined, `request ${x.requestId.slice(0, 20)} is not kept as numbers`);
    assert.equal(store.held, 0);
    // Mixed with numeric events of two endpoints, every event comes back in its place.
    const requests: [EventEncoder, EventArgs][] = [];
    notNumbers.forEach((x, i) => requests.push([a, args(100 + i)], [i % 2 ? b : a, x]));
    requests.push([b, args(200, { inputs: [[1, 2]] })]);
    const { values, numeric } = roundTrip(requests, store);
    assert.equal(numeric, notNumbers.length + 1);
    assert.deepEqual(
      values,
      requests.map(([enc, x]) => enc.encode(x)),
    );
  });

  it('copies the numbers when a request is added: changing its arrays afterwards changes nothing', () => {
    const store = new NumericEventStore();
    const x = args(1);
    const expected = a.encode(x);
    const num = store.add(a, x)!;
    (x.inputs[0] as number[])[0] = 999;
    (x.outputs as number[])[0] = 999;
    const builder = new EventBatchBuilder(store);
    builder.addNumeric(num);
    assert.equal(decodeEventBatch(builder.build())[0]!.value, expected);
  });

  it('reads events spread over several store chunks, in any order of publishing, and lets each chunk go with its last event', () => {
    const store = new NumericEventStore();
    const wide = (i: number) => args(i, { inputs: [Array.from({ length: 50 }, (_, j) => i + j / 100)] });
    // 62 numbers per event: 3,000 events fill three chunks of 65,536 numbers.
    const kept = Array.from({ length: 3000 }, (_, i) => store.add(a, wide(i))!);
    assert.ok(kept.every((k) => Number.isInteger(k) && k >= 0 && k < 2 ** 31), 'places are small integers');
    assert.equal(new Set(kept).size, 3000);
    assert.ok(store.chunkCount >= 3, `the events span several chunks (${store.chunkCount})`);
    assert.equal(store.held, 3000);
    // A batch in queue order crosses chunk boundaries; one in another order (a retried batch
    // put back at the head) copies event by event.
    const order = [...kept.keys()].slice(1000, 2500);
    const shuffled = [...order.slice(700), ...order.slice(0, 700)];
    for (const o of [order, shuffled]) {
      const builder = new EventBatchBuilder(store);
      for (const i of o) builder.addNumeric(kept[i]!);
      assert.deepEqual(
        decodeEventBatch(builder.build()).map((m) => m.value),
        o.map((i) => a.encode(wide(i))),
      );
    }
    // Released in any order, chunks go once empty; the one being written stays.
    for (const i of shuffled) store.release(kept[i]!);
    assert.equal(store.held, 1500);
    for (const i of [...kept.keys()].filter((i) => i < 1000 || i >= 2500)) store.release(kept[i]!);
    assert.equal(store.held, 0);
    assert.equal(store.chunkCount, 1);
    // A place let go cannot be published; the ones added after it are unaffected.
    const later = store.add(a, wide(5000))!;
    const builder = new EventBatchBuilder(store);
    assert.throws(() => builder.addNumeric(kept[0]!), /tracked event \d+ is no longer held/);
    builder.addNumeric(later);
    assert.equal(decodeEventBatch(builder.build())[0]!.value, a.encode(wide(5000)));
  });

  it('writes new events over the numbers of chunks let go, and each batch reads what its own events hold', () => {
    const store = new NumericEventStore();
    const wide = (i: number) => args(i, { inputs: [Array.from({ length: 50 }, (_, j) => -i - j / 7)], outputs: [i % 3] });
    // Batches of 700 events (some 2.6 chunks each), each built, read and let go before the next:
    // from the third batch on, chunks get the numbers of chunks let go before them.
    for (let b = 0; b < 12; b++) {
      const ids = Array.from({ length: 700 }, (_, k) => b * 700 + k);
      const places = ids.map((i) => store.add(a, wide(i))!);
      const builder = new EventBatchBuilder(store);
      for (const p of places) builder.addNumeric(p);
      const batch = builder.build();
      for (const p of places) store.release(p);
      assert.deepEqual(
        decodeEventBatch(batch).map((m) => m.value),
        ids.map((i) => a.encode(wide(i))),
        `batch ${b}`,
      );
      assert.ok(store.chunkCount <= 1, `chunks held after batch ${b}: ${store.chunkCount}`);
    }
  });

  it('gives runs of events as batches that read the store in place, and keeps their numbers until each is settled', () => {
    const store = new NumericEventStore();
    const wide = (i: number) => args(i, { inputs: [Array.from({ length: 50 }, (_, j) => i + j / 100)] });
    const enc = (i: number) => (i % 3 === 0 ? b : a);
    const places = Array.from({ length: 3000 }, (_, i) => store.add(enc(i), wide(i))!);
    const expected = places.map((_, i) => enc(i).encode(wide(i)));
    // 62 numbers per event: 3,000 events lie in three chunks of 65,536 numbers, so three runs.
    const views = store.views(places)!;
    assert.deepEqual(
      views.map((v) => v.count).reduce((x, y) => x + y),
      3000,
    );
    assert.equal(views.length, 3);
    for (const v of views) assert.ok(v.batch.nums.buffer instanceof SharedArrayBuffer, 'the numbers are the store’s own, in shared memory');
    const decoded = () => views.flatMap((v) => decodeEventBatch(v.batch).map((m) => m.value));
    assert.deepEqual(decoded(), expected);
    // Every event let go while the batches are still out: new events do not write over their numbers.
    for (const v of views) store.releaseView(v);
    assert.equal(store.held, 0);
    for (let i = 0; i < 6000; i++) store.add(a, wide(10_000 + i));
    assert.deepEqual(decoded(), expected);
    // Settled, their chunks' numbers are written again by the next chunks.
    for (const v of views) store.settled(v);
    for (let i = 0; i < 6000; i++) store.add(a, wide(20_000 + i));
    const after = (() => {
      try {
        return decoded();
      } catch {
        return undefined; // a batch read over numbers written again may not even be readable
      }
    })();
    assert.notDeepEqual(after, expected);
  });

  it('gives no batches in place, so that the events are copied, for many runs or a chunk of many endpoints', () => {
    const store = new NumericEventStore();
    const places = Array.from({ length: 100 }, (_, i) => store.add(a, args(i))!);
    const run = store.views(places.slice(10, 20))!;
    assert.equal(run.length, 1);
    assert.deepEqual(
      decodeEventBatch(run[0]!.batch).map((m) => m.value),
      places.slice(10, 20).map((_, i) => a.encode(args(10 + i))),
    );
    store.settled(run[0]!);
    // Every other event: each a run of one. A few runs are fine, fifty are copied.
    assert.equal(store.views(places.filter((_, i) => i % 2 === 0).slice(0, 4))!.length, 4);
    assert.equal(store.views(places.filter((_, i) => i % 2 === 0)), undefined);
    // A chunk whose events name more than 32 endpoints is copied: a batch in place names them all.
    const many = new NumericEventStore();
    const encoders = Array.from({ length: 40 }, (_, k) => new EventEncoder({ ...endpoint, endpointId: `ep-${k}` }));
    const mixed = encoders.map((e, k) => many.add(e, args(k))!);
    assert.equal(many.views(mixed.slice(0, 5)), undefined);
    const builder = new EventBatchBuilder(many);
    for (const p of mixed) builder.addNumeric(p);
    assert.deepEqual(
      decodeEventBatch(builder.build()).map((m) => m.value),
      encoders.map((e, k) => e.encode(args(k))),
    );
  });

  it('refuses a batch it cannot read, saying why', () => {
    const store = new NumericEventStore();
    const builder = new EventBatchBuilder(store);
    builder.addNumeric(store.add(a, args(1))!);
    builder.addText({ key: 'ep-c', value: '{"v":1}' });
    const batch = builder.build();
    const broken = (change: Partial<EventBatch>): EventBatch => ({ ...batch, ...change });
    assert.throws(() => decodeEventBatch(broken({ nums: batch.nums.slice(0, 5) })), /an event batch of 2 events cannot be read: event 0 is out of range/);
    assert.throws(() => decodeEventBatch(broken({ text: batch.text.slice(0, 3) })), /cannot be read: event 0 is out of range/);
    assert.throws(() => decodeEventBatch(broken({ endpoints: [] })), /cannot be read: event 0 is of no known kind/);
    assert.throws(() => decodeEventBatch(broken({ count: 3 })), /cannot be read: it ends early/);
    assert.throws(() => decodeEventBatch(broken({ count: 1 })), /cannot be read: it holds more than its events/);
    assert.deepEqual(
      decodeEventBatch(batch).map((m) => m.key),
      ['ep-a', 'ep-c'],
    );
  });
});
