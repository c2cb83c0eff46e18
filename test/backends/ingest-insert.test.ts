import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { openTsdb } from '../../src/store/connect.ts';
import type { IngestBatch, PredictionRow } from '../../src/store/tsdb-port.ts';
import { FreshDatabases, unavailableReason } from './servers.ts';

/*
 * The server engines' fast prediction inserts (PostgreSQL: COPY; MySQL/MariaDB: one multi-row
 * INSERT per chunk) with the batch's checkpoint, the one guard of exactly-once: requests that share
 * an id are each stored, a batch delivered again is skipped whole, a batch read before another
 * consumer moved the checkpoint is refused whole; and a batch spanning several statement chunks.
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

    it('stores requests that share an id, skips a batch delivered again, and refuses one whose checkpoint moved', async () => {
      const t = await openTsdb(await dbs.create(), { migrate: true });
      try {
        await t.writeIngestBatch({ ...batch(0, 50, 10), checkpoint: { consumer: 'stream', partition: 0, offset: '10', after: null } });
        // Ten requests with one id, as a client that reuses its ids sends them.
        const same = Array.from({ length: 10 }, (_, k) => prediction(100 + k, { requestId: 'dup-id-A' }));
        await t.writeIngestBatch({ predictions: same, errors: [], histograms: [], checkpoint: { consumer: 'stream', partition: 0, offset: '20', after: '10' } });
        // Delivered again after a crash: at or below the checkpoint, skipped whole.
        await t.writeIngestBatch({ ...batch(0, 50, 10), checkpoint: { consumer: 'stream', partition: 0, offset: '10', after: null } });
        await t.writeIngestBatch({ predictions: same, errors: [], histograms: [], checkpoint: { consumer: 'stream', partition: 0, offset: '20', after: '10' } });
        // Read when the checkpoint was 10; another consumer has moved it to 20 since.
        await assert.rejects(
          t.writeIngestBatch({ ...batch(200, 210, 30), checkpoint: { consumer: 'stream', partition: 0, offset: '30', after: '10' } }),
          (err: { code?: string }) => err.code === 'stale_checkpoint',
        );
        const rows = await t.readPredictions('p1', 'ep-1', win);
        assert.equal(rows.length, 60);
        assert.deepEqual(rows.find((r) => r.requestId === 'req-45'), prediction(45));
        const dup = await t.readPredictionsByRequest('p1', 'ep-1', ['dup-id-A']);
        assert.deepEqual(dup, same, 'all ten, in time order');
        assert.equal((await t.readErrors('p1', 'ep-1', win)).length, 1);
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
