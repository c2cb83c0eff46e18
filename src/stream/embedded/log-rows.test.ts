import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeEventBatch, EventBatchBuilder, eventBatchMiddleBytes, NumericEventStore, type EventBatch } from '../../tracking/event-batch.ts';
import { EventEncoder, type EventArgs } from '../../tracking/event.ts';
import { decodePackIndex, MAX_PACK_CHARS, MAX_PACK_EVENTS, unpack } from '../pack.ts';
import { partitionFor } from '../partition.ts';
import type { AppendRow } from './log-db.ts';
import { packEventBatch, packRows } from './log-rows.ts';

const messages = [
  { key: 'ep1', value: '{"a":1}' },
  { key: 'ep2', value: '' },
  { key: 'ep1', value: 'é😀\u0000"\\' },
  { key: 'ép3', value: 'x'.repeat(70_000) },
  { key: 'ep1', value: '{"a":2}' },
];

describe('log rows', () => {
  it("packs each partition's messages in order, on the partition of their key", () => {
    for (const partitions of [1, 3]) {
      const rows = packRows(messages, partitions);
      const back = rows.flatMap((r) => {
        const got = r.pack === null ? [{ key: r.key, value: r.value }] : unpack(decodePackIndex(r.pack, r.n, r.value.length), r.value);
        for (const m of got) assert.equal(r.partition, partitions === 1 ? 0 : partitionFor(m.key, partitions));
        return got;
      });
      for (const key of ['ep1', 'ep2', 'ép3']) {
        assert.deepEqual(back.filter((m) => m.key === key), messages.filter((m) => m.key === key), `${key}, ${partitions} partitions`);
      }
    }
  });
});

describe('log rows of tracked events handed over as numbers', () => {
  const encoders = ['ep-a', 'ep-b', 'ép-c'].map(
    (id, k) => new EventEncoder({ endpointId: id, project: 'p', function: 'serving', model: `m${k}`, tag: 'latest', featureNames: ['x0', 'x1'], labels: { team: 'risk' } }),
  );
  /** A request; every 50th has an id JSON escapes, with a character past U+00FF when `wide`. */
  const args = (i: number, wide = false): EventArgs => ({
    start: { ns: 0n, ms: 1_764_000_000_123.456 + i * 17 },
    latencyUs: 250 + i,
    requestId: i % 50 === 0 ? `id "${i}" é\t\u0000${wide ? ' 😀 \ud800' : ''}` : `req-${i}`,
    inputs: [[i, i / 3, -i * 1.25, i * 1e-7, 2 ** 31 + i]],
    outputs: i % 3 === 1 ? [[i * 0.5, -i / 8]] : [i % 7 === 0 ? Number.NaN : i * 0.5],
  });
  /** The batch of `requests` (as numbers where the store takes them, else as text). */
  const batchOf = (requests: [EventEncoder, EventArgs][], asText: (i: number) => boolean = () => false): EventBatch => {
    const store = new NumericEventStore();
    const builder = new EventBatchBuilder(store);
    requests.forEach(([enc, a], i) => {
      const place = asText(i) ? undefined : store.add(enc, a);
      if (place === undefined) builder.addText({ key: enc.endpoint.endpointId, value: enc.encode(a) });
      else builder.addNumeric(place);
    });
    return builder.build();
  };
  /** The messages the rows hold, each with its row's partition, in row order. */
  const readRows = (rows: AppendRow[]) =>
    rows.flatMap((r) => {
      const got = r.pack === null ? [{ key: r.key, value: r.value }] : unpack(decodePackIndex(r.pack, r.n, r.value.length), r.value);
      assert.equal(got.length, r.n);
      return got.map((m) => ({ ...m, partition: r.partition }));
    });

  it('stores what packRows stores of the decoded events, in the same partitions and order', () => {
    for (const wide of [false, true]) {
      const requests = Array.from({ length: 3000 }, (_, i): [EventEncoder, EventArgs] => [encoders[(i * 7) % 3]!, args(i, wide)]);
      // Kept as numbers and written as one-byte characters, but for the requests whose id has a
      // character past U+00FF, which the store keeps as text (so the batch has no middles).
      assert.equal(eventBatchMiddleBytes(batchOf(requests)) === undefined, wide);
      storesWhatPackRowsStores(requests);
    }
  });

  const storesWhatPackRowsStores = (requests: [EventEncoder, EventArgs][]) => {
    for (const partitions of [1, 4]) {
      for (const asText of [() => false, (i: number) => i % 101 === 0]) {
        const batch = batchOf(requests, asText);
        const expected = readRows(packRows(decodeEventBatch(batch), partitions));
        const rows = packEventBatch(batch, partitions);
        assert.deepEqual(readRows(rows), expected, `${partitions} partitions`);
        assert.equal(expected.length, 3000);
        for (const r of rows) {
          assert.ok(r.n <= MAX_PACK_EVENTS, `a row of ${r.n} events`);
          assert.ok(r.n === 1 || r.value.length <= MAX_PACK_CHARS, `a row of ${r.value.length} characters`);
        }
      }
    }
  };

  it("stores each endpoint's head and tail once per pack, and a pack of one event whole", () => {
    const requests = Array.from({ length: 1200 }, (_, i): [EventEncoder, EventArgs] => [encoders[i % 2]!, args(i)]);
    const rows = packEventBatch(batchOf(requests), 1);
    // 1,200 events in packs of at most 1,000 events.
    assert.ok(rows.length >= 2);
    const index = decodePackIndex(rows[0]!.pack!, rows[0]!.n, rows[0]!.value.length);
    assert.deepEqual(index.keys, ['ep-a', 'ep-b']);
    assert.deepEqual(index.pre, [encoders[0]!.head, encoders[1]!.head]);
    assert.deepEqual(index.suf, [encoders[0]!.plainTail, encoders[1]!.plainTail]);
    assert.ok(!rows[0]!.value.includes('"featureNames"'), 'the tail is not stored per event');

    const [one] = packEventBatch(batchOf([[encoders[2]!, args(5)]]), 1);
    assert.deepEqual(one, { key: 'ép-c', value: encoders[2]!.encode(args(5)), n: 1, pack: null, partition: 0 });
  });

  it('cuts packs at the stored characters a row takes', () => {
    const wide = (i: number): EventArgs => ({ ...args(i), inputs: [Array.from({ length: 400 }, (_, j) => i + j / 7)] });
    const enc = new EventEncoder({ endpointId: 'ep-w', project: 'p', function: 'serving', model: 'm' });
    const requests = Array.from({ length: 200 }, (_, i): [EventEncoder, EventArgs] => [enc, wide(i)]);
    const rows = packEventBatch(batchOf(requests), 1);
    assert.ok(rows.length > 1, `${rows.length} rows`);
    for (const r of rows) assert.ok(r.value.length <= MAX_PACK_CHARS);
    assert.deepEqual(
      readRows(rows).map((m) => m.value),
      requests.map(([e, a]) => e.encode(a)),
    );
  });

  it('refuses a batch it cannot read', () => {
    const batch = batchOf([[encoders[0]!, args(1)]]);
    assert.throws(() => packEventBatch({ ...batch, count: 2 }, 1), /an event batch of 2 events cannot be read/);
    assert.throws(() => packEventBatch({ ...batch, endpoints: ['{"project":"p"}'] }, 1), /names an endpoint without an endpointId/);
  });
});
