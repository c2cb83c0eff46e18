import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../../src/common/errors.ts';
import { PredictionColumns } from '../../src/store/prediction-columns.ts';
import type { IngestBatch, MetricRow, PredictionRow, ResultRow, Tsdb, WindowHistogram } from '../../src/store/tsdb-port.ts';

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;

function prediction(i: number, over: Partial<PredictionRow> = {}): PredictionRow {
  return {
    project: 'p1',
    endpointId: 'ep-1',
    time: T0 + i * 1000,
    latencyUs: 1000 + i,
    requestId: `req-${i}`,
    rowIndex: 0,
    features: [i, i * 0.5, 'cat', null],
    outputs: [i % 2],
    labels: { source: 'test' },
    ...over,
  };
}

function hist(feature: string, counts: number[], over: Partial<WindowHistogram> = {}): WindowHistogram {
  const total = counts.reduce((a, b) => a + b, 0);
  return {
    project: 'p1',
    endpointId: 'ep-1',
    windowStart: T0,
    windowEnd: T0 + 10 * MIN,
    feature,
    counts,
    atMax: 0,
    categories: null,
    categoryOther: 0,
    count: total,
    missing: 0,
    sum: total,
    sumSq: total * 2,
    min: 0,
    max: 10,
    ...over,
  };
}

function result(name: string, windowStart: number, over: Partial<ResultRow> = {}): ResultRow {
  return {
    project: 'p1',
    endpointId: 'ep-1',
    app: 'histogram-data-drift',
    name,
    kind: 0,
    status: 0,
    value: 0.1,
    extraData: { feature: { tvd: 0.1 }, list: [1, 2] },
    windowStart,
    windowEnd: windowStart + 10 * MIN,
    writtenAt: windowStart + 11 * MIN,
    ...over,
  };
}

/** Cases a backend may skip, each with the reason it gives, and what the two-handle cases need. */
export interface TsdbContractOptions {
  skip?: Partial<Record<'concurrency' | 'retention', string>>;
  /**
   * Opens a second handle on the database of `url` (the `url` of a tsdb `open` returned), as
   * another process would: the two-handle cases run only when it is given.
   */
  openSame?: (url: string) => Promise<Tsdb>;
}

/**
 * The contract every {@link Tsdb} backend passes. `open` returns a fresh, empty tsdb each call
 * (not yet migrated); the suite closes what it opens.
 */
export function runTsdbContract(name: string, open: () => Promise<Tsdb>, opts: TsdbContractOptions = {}): void {
  async function withTsdb(fn: (t: Tsdb) => Promise<void>): Promise<void> {
    const t = await open();
    try {
      await t.migrate();
      await fn(t);
    } finally {
      await t.close();
    }
  }
  const openSame = opts.openSame;
  const twoHandles = opts.skip?.concurrency ?? (openSame ? undefined : 'no second handle (openSame) given');
  async function withTwoTsdbs(fn: (a: Tsdb, b: Tsdb) => Promise<void>): Promise<void> {
    await withTsdb(async (a) => {
      const b = await (openSame ?? assert.fail('openSame missing'))(a.url);
      try {
        await b.migrate();
        await fn(a, b);
      } finally {
        await b.close();
      }
    });
  }
  const win = { start: T0, end: T0 + 10 * MIN };

  describe(`Tsdb contract: ${name}`, () => {
    it('migrates idempotently', () =>
      withTsdb(async (t) => {
        await t.migrate();
        await t.migrate();
        assert.equal(await t.countPredictions('p1', 'ep-1', win), 0);
      }));

    it('writes an ingest batch and reads it back', () =>
      withTsdb(async (t) => {
        await t.writeIngestBatch({
          predictions: [prediction(2), prediction(1), prediction(1, { rowIndex: 1, labels: null }), prediction(3, { endpointId: 'ep-2' })],
          errors: [{ project: 'p1', endpointId: 'ep-1', time: T0 + 5, requestId: 'bad', error: 'no inputs' }],
          histograms: [hist('f0', [1, 2, 0]), hist('f1', [0, 0, 3], { min: null, max: null })],
          checkpoint: { consumer: 'stream', partition: 0, offset: '42' },
        });
        assert.equal(await t.countPredictions('p1', 'ep-1', win), 3);
        const rows = await t.readPredictions('p1', 'ep-1', win);
        assert.deepEqual(rows.map((r) => [r.requestId, r.rowIndex]), [['req-1', 0], ['req-1', 1], ['req-2', 0]]);
        assert.deepEqual(rows[0], prediction(1));
        assert.equal(rows[1]?.labels, null);
        assert.equal((await t.readPredictions('p1', 'ep-1', win, { limit: 1 })).length, 1);
        assert.deepEqual(await t.readErrors('p1', 'ep-1', win), [{ project: 'p1', endpointId: 'ep-1', time: T0 + 5, requestId: 'bad', error: 'no inputs' }]);
        assert.equal(await t.getCheckpoint('stream', 0), '42');
        assert.equal(await t.getCheckpoint('stream', 1), undefined);
        const hs = await t.readWindowHistograms('p1', 'ep-1', win.start, win.end);
        assert.deepEqual(hs.find((h) => h.feature === 'f0'), hist('f0', [1, 2, 0]));
        assert.deepEqual(hs.find((h) => h.feature === 'f1'), hist('f1', [0, 0, 3], { min: null, max: null }));
      }));

    it('counts predictions of a window per endpoint', () =>
      withTsdb(async (t) => {
        await t.writeIngestBatch({
          predictions: [prediction(1), prediction(2), prediction(3, { endpointId: 'ep-2' }), prediction(4, { endpointId: 'ep-3' }), prediction(700, { endpointId: 'ep-2' })],
          errors: [],
          histograms: [],
        });
        const c = await t.countPredictionsByEndpoint('p1', ['ep-1', 'ep-2', 'ep-4'], { start: T0, end: T0 + 600_000 });
        assert.deepEqual([...c].sort(), [['ep-1', 2], ['ep-2', 1]], 'only the endpoints asked for, only rows of the window');
        assert.equal((await t.countPredictionsByEndpoint('p1', [], win)).size, 0);
      }));

    it('writes a batch delivered twice only once', () =>
      withTsdb(async (t) => {
        const batch: IngestBatch = {
          predictions: [prediction(1), prediction(2)],
          errors: [{ project: 'p1', endpointId: 'ep-1', time: T0, requestId: 'r', error: 'x' }],
          histograms: [hist('f0', [1, 1])],
          checkpoint: { consumer: 'stream', partition: 0, offset: '10' },
        };
        await t.writeIngestBatch(batch);
        await t.writeIngestBatch(batch);
        await t.writeIngestBatch({ ...batch, checkpoint: { consumer: 'stream', partition: 0, offset: '9' } });
        assert.equal(await t.countPredictions('p1', 'ep-1', win), 2);
        assert.equal((await t.readErrors('p1', 'ep-1', win)).length, 1);
        assert.deepEqual((await t.readWindowHistograms('p1', 'ep-1', win.start, win.end))[0]?.counts, [1, 1]);
        assert.equal(await t.getCheckpoint('stream', 0), '10');
        // Offsets compare as numbers, not as text: '100' is after '10' and '9'.
        await t.writeIngestBatch({ ...batch, predictions: [prediction(3)], checkpoint: { consumer: 'stream', partition: 0, offset: '100' } });
        assert.equal(await t.getCheckpoint('stream', 0), '100');
        assert.equal(await t.countPredictions('p1', 'ep-1', win), 3);
        // A checkpoint is per partition.
        await t.writeIngestBatch({ ...batch, predictions: [], errors: [], histograms: [], checkpoint: { consumer: 'stream', partition: 1, offset: '5' } });
        assert.equal(await t.getCheckpoint('stream', 1), '5');
      }));

    it('writes a batch delivered to two handles at once only once', { skip: twoHandles }, () =>
      withTwoTsdbs(async (a, b) => {
        const batch: IngestBatch = {
          predictions: [prediction(1), prediction(2)],
          errors: [{ project: 'p1', endpointId: 'ep-1', time: T0, requestId: 'r', error: 'x' }],
          histograms: [hist('f0', [1, 1]), hist('f1', [2])],
          checkpoint: { consumer: 'stream', partition: 3, offset: '7' },
        };
        await Promise.all([a, b, a, b].map((t) => t.writeIngestBatch(batch)));
        assert.equal(await a.countPredictions('p1', 'ep-1', win), 2);
        assert.equal((await b.readErrors('p1', 'ep-1', win)).length, 1);
        const hs = await a.readWindowHistograms('p1', 'ep-1', win.start, win.end);
        assert.deepEqual(hs.map((h) => [h.feature, h.counts]), [['f0', [1, 1]], ['f1', [2]]]);
        assert.equal(await b.getCheckpoint('stream', 3), '7');
      }));

    it('adds histogram counts of batches from two partitions written at once', { skip: twoHandles }, () =>
      withTwoTsdbs(async (a, b) => {
        const batch = (partition: number, offset: number): IngestBatch => ({
          predictions: [prediction(offset, { requestId: `p${partition}-${offset}` })],
          errors: [],
          histograms: [hist('f0', [1, 0], { atMax: 1 }), hist('f1', [0, 1]), hist('c', [], { categories: { [`p${partition % 2}`]: 2, x: 1 }, categoryOther: 1, count: 4 })],
          checkpoint: { consumer: 'stream', partition, offset: String(offset) },
        });
        // Each partition's batches in order (as one consumer delivers them), the partitions at once.
        await Promise.all(
          Array.from({ length: 8 }, async (_, partition) => {
            const t = partition % 2 === 0 ? a : b;
            for (let offset = 1; offset <= 3; offset++) await t.writeIngestBatch(batch(partition, offset));
          }),
        );
        const hs = await a.readWindowHistograms('p1', 'ep-1', win.start, win.end);
        assert.deepEqual(hs.map((h) => [h.feature, h.counts, h.count, h.atMax]), [['c', [], 96, 0], ['f0', [24, 0], 24, 24], ['f1', [0, 24], 24, 0]]);
        const c = hs.find((h) => h.feature === 'c');
        assert.deepEqual(c?.categories, { p0: 24, x: 24, p1: 24 });
        assert.equal(c?.categoryOther, 24);
        assert.equal(await b.countPredictions('p1', 'ep-1', win), 24);
      }));

    it('stores category counts and values at the maximum with the window histograms, and adds them up', () =>
      withTsdb(async (t) => {
        const origin = (categories: Record<string, number>, categoryOther: number): WindowHistogram =>
          hist('origin', [], { categories, categoryOther, atMax: 0, count: Object.values(categories).reduce((a, b) => a + b, categoryOther), min: null, max: null });
        const odd = `it's "odd" \\ é 😀`;
        await t.writeIngestBatch({
          predictions: [],
          errors: [],
          histograms: [origin({ USA: 3, Japan: 1 }, 2), hist('cyl', [0, 1, 4, 0], { atMax: 3 }), origin({ USA: 1, [odd]: 2 }, 1)],
          checkpoint: { consumer: 'c', partition: 0, offset: '1' },
        });
        let hs = await t.readWindowHistograms('p1', 'ep-1', win.start, win.end);
        assert.deepEqual(hs.find((h) => h.feature === 'origin'), origin({ USA: 4, Japan: 1, [odd]: 2 }, 3), 'merged within the batch');
        assert.deepEqual(hs.find((h) => h.feature === 'cyl'), hist('cyl', [0, 1, 4, 0], { atMax: 3 }));
        // Another partition's batch adds to the stored rows.
        await t.writeIngestBatch({
          predictions: [],
          errors: [],
          histograms: [origin({ Europe: 5, USA: 1 }, 0), hist('cyl', [1, 0, 2, 1], { atMax: 2 })],
          checkpoint: { consumer: 'c', partition: 1, offset: '1' },
        });
        hs = await t.readWindowHistograms('p1', 'ep-1', win.start, win.end);
        assert.deepEqual(hs.find((h) => h.feature === 'origin'), origin({ USA: 5, Japan: 1, [odd]: 2, Europe: 5 }, 3));
        assert.deepEqual(hs.find((h) => h.feature === 'cyl'), hist('cyl', [1, 1, 6, 1], { atMax: 5 }));
        // A row counted before values at the maximum were (atMax null) keeps it unknown when added to.
        await t.writeIngestBatch({ predictions: [], errors: [], histograms: [hist('old', [1, 1], { atMax: null })] });
        await t.writeIngestBatch({ predictions: [], errors: [], histograms: [hist('old', [0, 2], { atMax: 1 })] });
        hs = await t.readWindowHistograms('p1', 'ep-1', win.start, win.end);
        assert.deepEqual(hs.find((h) => h.feature === 'old'), hist('old', [1, 3], { atMax: null }));
      }));

    it('round-trips quotes, backslashes, newlines, tabs and non-ASCII text', () =>
      withTsdb(async (t) => {
        const text = `it's "quoted" \\ back\\slash\ttab\nnew line; é ü 日本 😀 {,} \\N NULL`;
        const p = prediction(1, { features: [text, 1.5, null, { nested: text }], outputs: [text], labels: { [text]: text } });
        await t.writeIngestBatch({
          predictions: [p],
          errors: [{ project: 'p1', endpointId: 'ep-1', time: T0, requestId: 'r', error: `${text} \u0000 nul` }],
          histograms: [],
        });
        assert.deepEqual(await t.readPredictions('p1', 'ep-1', win), [p]);
        assert.equal((await t.readErrors('p1', 'ep-1', win))[0]?.error, `${text} \uFFFD nul`);
        await t.writeResults([result('r', T0, { extraData: { text, list: [text] } })]);
        assert.deepEqual((await t.listResults('p1'))[0]?.extraData, { text, list: [text] });
      }));

    it('stores requests that share an id and row, and finds them all by it', () =>
      withTsdb(async (t) => {
        await t.writeIngestBatch({ predictions: [prediction(1)], errors: [], histograms: [] });
        await t.writeIngestBatch({ predictions: [prediction(1, { latencyUs: 9, time: T0 + 1500 }), prediction(2)], errors: [], histograms: [] });
        const rows = await t.readPredictions('p1', 'ep-1', win);
        assert.deepEqual(rows.map((r) => [r.requestId, r.latencyUs]), [['req-1', 1001], ['req-1', 9], ['req-2', 1002]]);
        assert.deepEqual((await t.readPredictionsByRequest('p1', 'ep-1', ['req-1', 'nope'])).map((r) => r.latencyUs), [1001, 9]);
      }));

    it('skips a batch at or below its checkpoint, and refuses one read before the checkpoint moved', () =>
      withTsdb(async (t) => {
        const cp = (offset: string, after: string | null) => ({ consumer: 'stream', partition: 3, offset, after });
        const letter = { project: 'p1', endpointId: 'ep-1', requestId: 'x', partition: 3, offset: '5', time: T0, reason: 'event request.id is longer than 255 characters', event: '{"v":1}', eventChars: 7 };
        await t.writeIngestBatch({ predictions: [prediction(1)], errors: [], histograms: [hist('f0', [1])], deadLetters: [letter], checkpoint: cp('5', null) });
        // Delivered again: skipped whole, histogram counts and dead letters included.
        await t.writeIngestBatch({ predictions: [prediction(1)], errors: [], histograms: [hist('f0', [1])], deadLetters: [letter], checkpoint: cp('5', null) });
        // Read when the stored checkpoint was 5, after another consumer's batch up to 9 was written.
        await t.writeIngestBatch({ predictions: [prediction(2)], errors: [], histograms: [], checkpoint: cp('9', '5') });
        await assert.rejects(
          t.writeIngestBatch({ predictions: [prediction(3)], errors: [], histograms: [hist('f0', [1])], checkpoint: cp('12', '5') }),
          (err: { code?: string }) => err.code === 'stale_checkpoint',
        );
        await t.writeIngestBatch({ predictions: [prediction(3)], errors: [], histograms: [hist('f0', [1])], checkpoint: cp('12', '9') });
        assert.deepEqual((await t.readPredictions('p1', 'ep-1', win)).map((r) => r.requestId), ['req-1', 'req-2', 'req-3']);
        assert.deepEqual((await t.readWindowHistograms('p1', 'ep-1', win.start, win.end)).map((h) => h.counts), [[2]]);
        assert.deepEqual(await t.listDeadLetters('p1'), [{ ...letter, id: (await t.listDeadLetters('p1'))[0]?.id }]);
        assert.equal(await t.getCheckpoint('stream', 3), '12');
      }));

    it('lists dead letters newest first, by endpoint and time', () =>
      withTsdb(async (t) => {
        const letter = (i: number, endpointId: string | null) => ({
          project: 'p1', endpointId, requestId: null, partition: 0, offset: String(i), time: T0 + i * 1000, reason: `r${i}`, event: `e\uFFFD${i}`, eventChars: 70_000,
        });
        await t.writeIngestBatch({ predictions: [], errors: [], histograms: [], deadLetters: [letter(1, 'ep-1'), letter(2, null), letter(3, 'ep-1')] });
        await t.writeIngestBatch({ predictions: [], errors: [], histograms: [], deadLetters: [{ ...letter(4, 'ep-1'), project: 'p2' }] });
        const all = await t.listDeadLetters('p1');
        assert.deepEqual(all.map((d) => d.reason), ['r3', 'r2', 'r1']);
        assert.deepEqual(all[0], { ...letter(3, 'ep-1'), id: all[0]?.id });
        assert.deepEqual((await t.listDeadLetters('p1', { endpointId: 'ep-1' })).map((d) => d.reason), ['r3', 'r1']);
        assert.deepEqual((await t.listDeadLetters('p1', { since: T0 + 2000 })).map((d) => d.reason), ['r3', 'r2']);
        assert.deepEqual((await t.listDeadLetters('p1', { limit: 1 })).map((d) => d.reason), ['r3']);
      }));

    it('writes predictions given as columns (as the stream processor gives them) as it writes rows', () =>
      withTsdb(async (t) => {
        const text = `it's "quoted" \\ back\\slash\ttab\nnew line; é 😀 \\N NULL`;
        // More rows than one chunk of COPY text or one statement, some with text that needs escaping.
        const first = Array.from({ length: 700 }, (_, i) => prediction(i, i % 50 === 0 ? { features: [text, i], outputs: [text], labels: { [text]: text } } : {}));
        const cp = (offset: string, after: string | null) => ({ consumer: 'stream', partition: 0, offset, after });
        await t.writeIngestBatch({ predictions: PredictionColumns.fromRows(first), errors: [], histograms: [], checkpoint: cp('1', null) });
        // Delivered again: skipped; then the next batch.
        await t.writeIngestBatch({ predictions: PredictionColumns.fromRows(first), errors: [], histograms: [], checkpoint: cp('1', null) });
        const next = Array.from({ length: 200 }, (_, i) => prediction(700 + i, { latencyUs: 7 }));
        await t.writeIngestBatch({ predictions: PredictionColumns.fromRows(next), errors: [], histograms: [], checkpoint: cp('2', '1') });
        const all = { start: T0, end: T0 + 1000 * 1000 };
        const rows = await t.readPredictions('p1', 'ep-1', all);
        assert.equal(rows.length, 900);
        assert.deepEqual(rows.slice(0, 700), first);
        assert.deepEqual(rows.slice(700), next);
        const latencySum = first.reduce((a, r) => a + r.latencyUs, 0) + 200 * 7;
        // MySQL's avg() keeps four decimals.
        const [summary] = await t.predictionSummary('p1', T0);
        assert.deepEqual({ ...summary, latencyAvgUs: Math.round((summary?.latencyAvgUs ?? 0) * 1000) / 1000 }, { endpointId: 'ep-1', count: 900, latencyAvgUs: Math.round((latencySum / 900) * 1000) / 1000 });
      }));

    it('adds histogram counts across batches and windows', () =>
      withTsdb(async (t) => {
        const w2 = { windowStart: T0 + 10 * MIN, windowEnd: T0 + 20 * MIN };
        await t.writeIngestBatch({
          predictions: [],
          errors: [],
          histograms: [hist('f0', [1, 0, 2], { min: 1, max: 5 }), hist('f0', [0, 1, 0], { min: 0.5, max: 2 }), hist('f0', [5, 5, 5], w2)],
          checkpoint: { consumer: 'c', partition: 0, offset: '1' },
        });
        await t.writeIngestBatch({
          predictions: [],
          errors: [],
          histograms: [hist('f0', [1, 1, 1], { min: 3, max: 12, missing: 2 }), hist('f1', [4])],
          checkpoint: { consumer: 'c', partition: 0, offset: '2' },
        });
        const [f0, f1] = await t.readWindowHistograms('p1', 'ep-1', T0, T0 + 10 * MIN);
        assert.deepEqual(f0, { ...hist('f0', [2, 2, 3]), sum: 7, sumSq: 14, min: 0.5, max: 12, missing: 2 });
        assert.deepEqual(f1, hist('f1', [4]));
        const both = await t.readWindowHistograms('p1', 'ep-1', T0, T0 + 20 * MIN);
        const f0both = both.find((h) => h.feature === 'f0');
        assert.deepEqual(f0both?.counts, [7, 7, 8]);
        assert.equal(f0both?.windowEnd, T0 + 20 * MIN);
      }));

    it('writes large batches in chunks', () =>
      withTsdb(async (t) => {
        const many = Array.from({ length: 7000 }, (_, i) => prediction(i % 500, { requestId: `big-${i}` }));
        await t.writeIngestBatch({ predictions: many, errors: [], histograms: [], checkpoint: { consumer: 'c', partition: 0, offset: '1' } });
        assert.equal(await t.countPredictions('p1', 'ep-1', win), 7000);
      }));

    it('summarises predictions per endpoint', () =>
      withTsdb(async (t) => {
        await t.writeIngestBatch({
          predictions: [prediction(1, { latencyUs: 100 }), prediction(2, { latencyUs: 300 }), prediction(3, { endpointId: 'ep-2', latencyUs: 50 })],
          errors: [],
          histograms: [],
        });
        assert.deepEqual(await t.predictionSummary('p1', T0), [
          { endpointId: 'ep-1', count: 2, latencyAvgUs: 200 },
          { endpointId: 'ep-2', count: 1, latencyAvgUs: 50 },
        ]);
        assert.deepEqual(await t.predictionSummary('p1', T0 + 2500), [{ endpointId: 'ep-2', count: 1, latencyAvgUs: 50 }]);
        assert.deepEqual(await t.predictionSummary('p2', T0), []);
      }));

    it('summarises predictions per endpoint since several times in one call', () =>
      withTsdb(async (t) => {
        await t.writeIngestBatch({
          predictions: [prediction(1, { latencyUs: 100 }), prediction(2, { latencyUs: 300 }), prediction(3, { endpointId: 'ep-2', latencyUs: 50 })],
          errors: [],
          histograms: [],
        });
        assert.deepEqual(await t.predictionSummaries('p1', [T0, T0 + 1500, T0 + 10_000]), [
          { endpointId: 'ep-1', counts: [2, 1, 0], latencyAvgUs: [200, 300, null] },
          { endpointId: 'ep-2', counts: [1, 1, 0], latencyAvgUs: [50, 50, null] },
        ]);
        assert.deepEqual(await t.predictionSummaries('p1', [T0 + 2500]), [{ endpointId: 'ep-2', counts: [1], latencyAvgUs: [50] }]);
        assert.deepEqual(await t.predictionSummaries('p2', [T0]), []);
        assert.deepEqual(await t.predictionSummaries('p1', []), []);
        await assert.rejects(t.predictionSummaries('p1', [Number.NaN]), /finite/);
      }));

    it('summarises exactly whatever the times, across batches, endpoints and a batch delivered twice', () =>
      withTsdb(async (t) => {
        // Predictions every 1.7 s over 20 minutes for three endpoints, in several batches, one of
        // them delivered again (skipped by its checkpoint).
        const all = Array.from({ length: 700 }, (_, i) =>
          prediction(i, { time: T0 + Math.round(i * 1700), endpointId: `ep-${i % 3}`, latencyUs: 100 + ((i * 37) % 500), requestId: `r-${i}` }),
        );
        const cp = (b: number) => ({ consumer: 'stream', partition: 0, offset: String(b + 1), after: b === 0 ? null : String(b) });
        for (let i = 0; i < all.length; i += 150) await t.writeIngestBatch({ predictions: all.slice(i, i + 150), errors: [], histograms: [], checkpoint: cp(i / 150) });
        await t.writeIngestBatch({ predictions: all.slice(150, 300), errors: [], histograms: [], checkpoint: cp(1) });
        const sinces = [T0 - 5, T0 + 1, T0 + 9_999, T0 + 10_000, T0 + 123_456, T0 + 5 * MIN + 3, T0 + 19 * MIN + 59_999, T0 + 30 * MIN];
        const want = ['ep-0', 'ep-1', 'ep-2'].map((id) => {
          const mine = all.filter((p) => p.endpointId === id);
          const counts = sinces.map((s) => mine.filter((p) => p.time >= s).length);
          const sums = sinces.map((s) => mine.filter((p) => p.time >= s).reduce((a, p) => a + p.latencyUs, 0));
          return { endpointId: id, counts, latencyAvgUs: counts.map((n, i) => (n > 0 ? sums[i]! / n : null)) };
        });
        const got = await t.predictionSummaries('p1', sinces);
        assert.deepEqual(got.map((x) => ({ ...x, latencyAvgUs: x.latencyAvgUs.map((v) => (v === null ? null : Math.round(v * 1e6) / 1e6)) })), want.map((x) => ({ ...x, latencyAvgUs: x.latencyAvgUs.map((v) => (v === null ? null : Math.round(v * 1e6) / 1e6)) })));
      }));

    it('replaces results on their key, keeps history and a latest view', () =>
      withTsdb(async (t) => {
        await t.writeResults([result('general_drift', T0), result('general_drift', T0 + 10 * MIN, { value: 0.6, status: 1 })]);
        await t.writeResults([result('general_drift', T0, { value: 0.2 }), result('other', T0, { app: 'my-app', kind: 2 })]);
        await t.writeResults([result('general_drift', T0, { endpointId: 'ep-2', value: 0.9, status: 2 })]);
        const history = await t.listResults('p1', { endpointId: 'ep-1', app: 'histogram-data-drift' });
        assert.deepEqual(history.map((r) => [r.windowStart, r.value]), [[T0, 0.2], [T0 + 10 * MIN, 0.6]]);
        assert.deepEqual(history[1], result('general_drift', T0 + 10 * MIN, { value: 0.6, status: 1 }));
        const latest = await t.latestResults('p1');
        assert.deepEqual(latest.map((r) => [r.endpointId, r.app, r.name, r.windowStart, r.value]), [
          ['ep-1', 'histogram-data-drift', 'general_drift', T0 + 10 * MIN, 0.6],
          ['ep-1', 'my-app', 'other', T0, 0.1],
          ['ep-2', 'histogram-data-drift', 'general_drift', T0, 0.9],
        ]);
        assert.equal((await t.latestResults('p1', { endpointId: 'ep-2' })).length, 1);
        assert.equal((await t.latestResults('p1', { app: 'my-app' })).length, 1);
        assert.deepEqual((await t.listResults('p1', { limit: 1, endpointId: 'ep-1', name: 'general_drift' })).map((r) => r.windowStart), [T0 + 10 * MIN]);
        assert.deepEqual((await t.listResults('p1', { start: T0 + 1, end: T0 + 20 * MIN })).map((r) => r.windowStart), [T0 + 10 * MIN]);
        await assert.rejects(t.writeResults([result('bad', T0, { value: Number.NaN })]), ValidationError);
      }));

    it('deletes rows older than a cutoff in batches', { skip: opts.skip?.retention }, () =>
      withTsdb(async (t) => {
        const deleteOlderThan = t.deleteOlderThan?.bind(t) ?? assert.fail('deleteOlderThan is missing; skip retention with a reason');
        const w2 = { windowStart: T0 + 10 * MIN, windowEnd: T0 + 20 * MIN };
        await t.writeIngestBatch({
          predictions: Array.from({ length: 20 }, (_, i) => prediction(i, { time: T0 + i * MIN, endpointId: i % 2 ? 'ep-1' : 'ep-2' })),
          errors: [
            { project: 'p1', endpointId: 'ep-1', time: T0 + 5, requestId: 'old', error: 'x' },
            { project: 'p2', endpointId: 'ep-1', time: T0 + 15 * MIN, requestId: 'new', error: 'y' },
          ],
          histograms: [hist('f0', [1]), hist('f1', [1]), hist('f0', [2], w2)],
          deadLetters: [T0 + 5, T0 + 10 * MIN].map((time, i) => ({ project: 'p1', endpointId: null, requestId: null, partition: 0, offset: String(i), time, reason: 'x', event: 'y', eventChars: 1 })),
        });
        await t.writeResults([result('r', T0), result('r', T0 + 10 * MIN)]);
        const metric = (windowStart: number): MetricRow => {
          const { kind: _k, status: _s, extraData: _e, ...rest } = result('m', windowStart);
          return { ...rest, value: 1 };
        };
        await t.writeMetrics([metric(T0), metric(T0 + 10 * MIN), metric(T0 + 20 * MIN)]);

        const counts = await deleteOlderThan(T0 + 10 * MIN, { batchSize: 3 });
        assert.deepEqual(counts, { predictions: 10, errors: 1, window_histograms: 2, app_results: 1, metrics: 1, prediction_rollups: 10, dead_letters: 1 });
        assert.deepEqual((await t.listDeadLetters('p1')).map((d) => d.time), [T0 + 10 * MIN]);
        const all = { start: 0, end: T0 + 60 * MIN };
        const left = [...(await t.readPredictions('p1', 'ep-1', all)), ...(await t.readPredictions('p1', 'ep-2', all))];
        assert.deepEqual(left.map((p) => p.time).sort((x, y) => x - y), Array.from({ length: 10 }, (_, i) => T0 + (i + 10) * MIN));
        assert.deepEqual(await t.readErrors('p1', 'ep-1', all), []);
        assert.equal((await t.readErrors('p2', 'ep-1', all)).length, 1);
        assert.deepEqual((await t.readWindowHistograms('p1', 'ep-1', 0, all.end)).map((h) => [h.feature, h.counts]), [['f0', [2]]]);
        assert.deepEqual((await t.listResults('p1')).map((r) => r.windowStart), [T0 + 10 * MIN]);
        assert.deepEqual((await t.listMetrics('p1')).map((r) => r.windowStart), [T0 + 10 * MIN, T0 + 20 * MIN]);
        assert.deepEqual(await deleteOlderThan(T0 + 10 * MIN), { predictions: 0, errors: 0, window_histograms: 0, app_results: 0, metrics: 0, prediction_rollups: 0, dead_letters: 0 });
        assert.deepEqual(
          (await t.predictionSummaries('p1', [T0])).map((x) => [x.endpointId, x.counts]),
          [['ep-1', [5]], ['ep-2', [5]]],
          'live metrics count what retention kept',
        );
      }));

    it('stores metrics, answers hasResults and deletes an app window', () =>
      withTsdb(async (t) => {
        const metric = (name: string, windowStart: number, value: number): MetricRow => ({
          project: 'p1',
          endpointId: 'ep-1',
          app: 'metrics-only',
          name,
          value,
          windowStart,
          windowEnd: windowStart + 10 * MIN,
          writtenAt: windowStart + 11 * MIN,
        });
        await t.writeMetrics([metric('hellinger_mean', T0, 0.1), metric('hellinger_mean', T0 + 10 * MIN, 0.2)]);
        await t.writeMetrics([metric('hellinger_mean', T0, 0.15)]);
        assert.deepEqual((await t.listMetrics('p1', { app: 'metrics-only' })).map((m) => m.value), [0.15, 0.2]);
        assert.deepEqual(await t.listMetrics('p1', { name: 'hellinger_mean', start: T0, end: T0 + 1 }), [metric('hellinger_mean', T0, 0.15)]);
        assert.equal(await t.hasResults('p1', 'ep-1', 'metrics-only', T0), true);
        await t.writeResults([result('r', T0, { app: 'metrics-only' })]);
        await t.deleteResults('p1', 'ep-1', 'metrics-only', { start: T0, end: T0 + 10 * MIN });
        assert.equal(await t.hasResults('p1', 'ep-1', 'metrics-only', T0), false);
        assert.equal(await t.hasResults('p1', 'ep-1', 'metrics-only', T0 + 10 * MIN), true);
        assert.deepEqual(await t.listResults('p1', { app: 'metrics-only' }), []);
      }));
  });
}
