import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { openTsdb } from '../../src/store/connect.ts';
import type { IngestBatch, PredictionRow } from '../../src/store/tsdb-port.ts';
import { FreshDatabases, unavailableReason } from './servers.ts';

/*
 * The server engines' fast prediction inserts (PostgreSQL: COPY under a savepoint with an
 * ON CONFLICT fallback; MySQL/MariaDB: one multi-row INSERT per chunk with the rows as one
 * parameter) when a batch partly overlaps rows already stored, as after a crash between a write
 * and the stream commit, and when a batch spans several statement chunks.
 */
const T0 = Date.UTC(2026, 0, 1);
const win = { start: T0, end: T0 + 3_600_000 };

function prediction(i: number, over: Partial<PredictionRow> = {}): PredictionRow {
  return {
    project: 'p1',
    endpointId: 'ep-1',
    time: T0 + i,
    latencyUs: 1000 + i,
    requestId: `req-${i}`,
    rowIndex: 0,
    features: [i, 'tab\there', 'back\\slash', 'line\nbreak', null],
    outputs: [i % 2],
    labels: i % 2 === 0 ? null : { source: 'test' },
    ...over,
  };
}

const batch = (from: number, to: number, offset: number): IngestBatch => ({
  predictions: Array.from({ length: to - from }, (_, k) => prediction(from + k)),
  errors: [{ project: 'p1', endpointId: 'ep-1', time: T0, requestId: `err-${offset}`, error: 'x' }],
  histograms: [],
  checkpoint: { consumer: 'stream', partition: 0, offset: String(offset) },
});

for (const backend of ['postgres', 'mysql'] as const) {
  const reason = await unavailableReason(backend);
  describe(`prediction inserts of writeIngestBatch: ${backend}`, { skip: reason }, () => {
    const dbs = new FreshDatabases(backend);
    after(() => dbs.dropAll());

    it('skips the rows already stored of a partly repeated batch and writes the rest of the batch', async () => {
      const t = await openTsdb(await dbs.create(), { migrate: true });
      try {
        await t.writeIngestBatch(batch(0, 50, 10));
        await t.writeIngestBatch(batch(40, 120, 20));
        const rows = await t.readPredictions('p1', 'ep-1', win);
        assert.equal(rows.length, 120);
        assert.deepEqual(rows.find((r) => r.requestId === 'req-45'), prediction(45));
        assert.deepEqual(rows.find((r) => r.requestId === 'req-99'), prediction(99));
        assert.equal((await t.readErrors('p1', 'ep-1', win)).length, 2, 'the rest of the transaction went on after the fallback');
        assert.equal(await t.getCheckpoint('stream', 0), '20');
      } finally {
        await t.close();
      }
    });

    it('writes a batch larger than one statement chunk', async () => {
      const t = await openTsdb(await dbs.create(), { migrate: true });
      try {
        const big = 12_000;
        await t.writeIngestBatch(batch(0, big, 1));
        assert.equal(await t.countPredictions('p1', 'ep-1', win), big);
        assert.deepEqual((await t.readPredictionsByRequest('p1', 'ep-1', [`req-${big - 1}`]))[0], prediction(big - 1));
      } finally {
        await t.close();
      }
    });
  });
}
