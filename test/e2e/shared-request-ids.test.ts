import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock, Modelwatch } from '../../src/index.ts';
import { tempHome } from './helpers.ts';

class Doubler {
  predict(rows: unknown[][]): number[] {
    return rows.map((r) => 2 * (r[0] as number));
  }
}

/*
 * Issue 23, reliability 2, over real HTTP: requests that share an id are each stored — ten with the
 * same id, and twenty whose ids are different invalid UTF-8 that all decode to one string — and all
 * are found by that id.
 */
test('every request is stored and found by its request id, whatever id the client sends', async () => {
  const { home, cleanup } = tempHome('mw-shared-ids-');
  const start = Date.UTC(2026, 3, 1);
  const mw = await Modelwatch.open({ home, clock: new ManualClock(start), background: false });
  try {
    const project = await mw.createProject('ids');
    await project.enableModelMonitoring({ basePeriod: 10, deployHistogramDataDriftApp: false });
    const fn = await project.setFunction('serving', { kind: 'serving' });
    fn.addModel('m', { model: new Doubler() });
    fn.setTracking();
    await project.deployFunction(fn);
    const base = (await project.getFunction('serving')).status.address!;
    const post = async (body: string | Buffer): Promise<void> => {
      const res = await fetch(new URL('/v2/models/m/infer', base), { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      assert.equal(res.status, 200, await res.text());
    };
    for (let i = 0; i < 10; i++) await post(JSON.stringify({ id: 'dup-id-A', inputs: [[i], [i + 0.5]] }));
    // Bytes that are not UTF-8 (two lone continuation bytes), different for each request: each decodes to U+FFFD U+FFFD.
    for (let i = 0; i < 20; i++) {
      await post(Buffer.concat([Buffer.from('{"id":"'), Buffer.from([0x80 + i, 0xbf - i]), Buffer.from(`","inputs":[[${100 + i}]]}`)]));
    }
    await mw.runtime.worker('ids', 'serving')!.flush!();
    await mw.runUntilIdle();

    const [ep] = await project.listModelEndpoints();
    assert.ok(ep);
    const tsdb = await mw.platform.tsdbFor('ids');
    const dup = await tsdb.readPredictionsByRequest('ids', ep.id, ['dup-id-A']);
    assert.equal(dup.length, 20, 'ten requests of two rows each');
    assert.deepEqual(dup.map((p) => p.features[0]).sort((a, b) => Number(a) - Number(b)), Array.from({ length: 10 }, (_, i) => [i, i + 0.5]).flat());
    const decoded = await tsdb.readPredictionsByRequest('ids', ep.id, ['\uFFFD\uFFFD']);
    assert.deepEqual(decoded.map((p) => p.features[0]).sort((a, b) => Number(a) - Number(b)), Array.from({ length: 20 }, (_, i) => 100 + i));
    assert.equal(await tsdb.countPredictions('ids', ep.id, { start: 0, end: start + 3_600_000 }), 40);
    assert.deepEqual(await tsdb.listDeadLetters('ids'), []);
  } finally {
    await mw.close();
    cleanup();
  }
});
