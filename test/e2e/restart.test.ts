import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock, Modelwatch } from '../../src/index.ts';
import { rng, tempHome } from './helpers.ts';

class Doubler {
  predict(rows: unknown[][]): number[] {
    return rows.map((r) => 2 * (r[0] as number));
  }
}

test('events left in the stream at shutdown are processed exactly once after a restart', async () => {
  const { home, cleanup } = tempHome('mw-restart-');
  const r = rng(11);
  const start = Date.UTC(2026, 3, 1);
  try {
    // First life: serve and track, but stop before the stream processor runs.
    const clock = new ManualClock(start);
    const mw = await Modelwatch.open({ home, clock, background: false });
    const project = await mw.createProject('restart');
    await project.logModel('m', { trainingSet: { x: Array.from({ length: 500 }, () => r.normal()), y: Array.from({ length: 500 }, () => r.normal()) }, labelColumn: 'y' });
    await project.enableModelMonitoring({ basePeriod: 10 });
    const fn = await project.setFunction('serving', { kind: 'serving' });
    fn.addModel('m', { model: new Doubler(), modelUri: 'store://models/restart/m:latest' });
    fn.setTracking();
    await project.deployFunction(fn);
    let rows = 0;
    for (let i = 0; i < 300; i++) {
      const n = 1 + (i % 3); // requests of 1–3 rows
      rows += n;
      await fn.invoke('/v2/models/m/infer', { id: `r${i}`, inputs: Array.from({ length: n }, () => [r.normal()]) });
      clock.advance(1000);
    }
    // Push the tracking queue to the stream, then stop everything without ingesting.
    await mw.runtime.worker('restart', 'serving')!.flush!();
    const stream = await mw.platform.streamFor('restart');
    const sub = await stream.subscribe('mw.restart.events', 'probe');
    assert.equal(await sub.lag(), 300, 'all 300 events wait in the durable stream');
    await sub.close();
    await mw.runtime.undeploy('restart', 'model-monitoring-stream');
    await mw.close();

    // Second life: the same home; the stream processor resumes from its committed offset.
    const clock2 = new ManualClock(start + 300_000);
    const mw2 = await Modelwatch.open({ home, clock: clock2, background: false });
    await mw2.runUntilIdle();
    const p2 = await mw2.getProject('restart');
    const [ep] = await p2.listModelEndpoints();
    assert.ok(ep);
    const tsdb = await mw2.platform.tsdbFor('restart');
    const window = { start, end: start + 3_600_000 };
    assert.equal(await tsdb.countPredictions('restart', ep.id, window), rows);
    // Histograms kept at ingest saw every row once.
    const hists = await tsdb.readWindowHistograms('restart', ep.id, start, start + 600_000);
    assert.equal(hists.find((h) => h.feature === 'x')?.count, rows);
    await mw2.close();

    // Third life: nothing is delivered again.
    const mw3 = await Modelwatch.open({ home, clock: new ManualClock(start + 400_000), background: false });
    await mw3.runUntilIdle();
    assert.equal(await (await mw3.platform.tsdbFor('restart')).countPredictions('restart', ep.id, window), rows);
    await mw3.close();
  } finally {
    cleanup();
  }
});
