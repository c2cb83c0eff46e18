import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { ManualClock, Modelwatch } from '../../src/index.ts';
import { deleteNatsNamespace, natsNamespace, natsUnavailableReason, natsUrl } from '../backends/nats.ts';
import { rng, tempHome } from './helpers.ts';

class RowSum {
  predict(rows: unknown[][]): number[] {
    return rows.map((r) => (r as number[]).reduce((a, b) => a + b, 0));
  }
}

/*
 * Serving takes a request of 10,000 rows (up to 8 MiB); its event would be some 2 MB of text, past
 * the 1 MiB ingest and NATS take. Over real HTTP, with plain and with durable tracking: every row
 * is stored, in its place under the request's id, and nothing is dead-lettered.
 */
const ROWS = 10_000;
const natsReason = await natsUnavailableReason();

for (const streamKind of ['embedded', 'nats'] as const) {
  const skip = streamKind === 'nats' ? natsReason : undefined;
  describe(`a request too large for one event: ${streamKind} stream`, { skip }, () => {
    const namespace = natsNamespace();
    const { home, cleanup } = tempHome('mw-large-request-');
    after(async () => {
      if (streamKind === 'nats' && !skip) await deleteNatsNamespace(namespace);
      cleanup();
    });

    test('is stored whole, every row in its place, with plain and with durable tracking', { timeout: 120_000 }, async () => {
      const start = Date.UTC(2026, 4, 1);
      const mw = await Modelwatch.open({ home, clock: new ManualClock(start), background: false, logLevel: 'silent', ...(streamKind === 'nats' ? { streamUrl: natsUrl(namespace) } : {}) });
      try {
        const project = await mw.createProject('large');
        await project.enableModelMonitoring({ basePeriod: 10, deployHistogramDataDriftApp: false });
        const plain = await project.setFunction('serving', { kind: 'serving' });
        plain.addModel('m', { model: new RowSum() });
        plain.setTracking();
        await project.deployFunction(plain);
        const durable = await project.setFunction('serving-durable', { kind: 'serving' });
        durable.addModel('m', { model: new RowSum() });
        durable.setTracking({ durable: true });
        await project.deployFunction(durable);

        const r = rng(11);
        const rows = Array.from({ length: ROWS }, () => Array.from({ length: 10 }, () => r.normal(0, 1000)));
        const body = JSON.stringify({ id: 'large-1', inputs: rows });
        assert.ok(body.length > 1_048_576, `a body of ${body.length} characters`);
        for (const name of ['serving', 'serving-durable']) {
          const base = (await project.getFunction(name)).status.address!;
          const res = await fetch(new URL('/v2/models/m/infer', base), { method: 'POST', headers: { 'content-type': 'application/json' }, body });
          assert.equal(res.status, 200, await res.text());
          await mw.runtime.worker('large', name)!.flush!();
        }
        await mw.runUntilIdle();

        assert.deepEqual(await project.listDeadLetters(), []);
        const endpoints = await project.listModelEndpoints();
        assert.equal(endpoints.length, 2);
        const tsdb = await mw.platform.tsdbFor('large');
        const sums = rows.map((row) => row.reduce((a, b) => a + b, 0));
        for (const ep of endpoints) {
          assert.equal(ep.errorCount, 0, ep.function);
          const stored = await tsdb.readPredictionsByRequest('large', ep.id, ['large-1']);
          assert.equal(stored.length, ROWS, ep.function);
          assert.deepEqual(
            stored.map((p) => p.rowIndex),
            rows.map((_, i) => i),
          );
          assert.deepEqual(
            stored.map((p) => p.features),
            rows,
          );
          assert.deepEqual(
            stored.map((p) => p.outputs),
            sums.map((s) => [s]),
          );
          assert.equal(await tsdb.countPredictions('large', ep.id, { start: 0, end: start + 3_600_000 }), ROWS);
        }
      } finally {
        await mw.close();
      }
    });
  });
}
