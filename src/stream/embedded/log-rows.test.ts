import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodePackIndex, unpack } from '../pack.ts';
import { partitionFor } from '../partition.ts';
import { packRows } from './log-rows.ts';

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
