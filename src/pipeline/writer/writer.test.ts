import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ManualClock } from '../../common/clock.ts';
import { HISTOGRAM_DRIFT_APP } from '../../common/names.ts';
import { Platform } from '../../project/platform.ts';
import { sampleEndpoint } from '../../../test/contract/store.case.ts';
import { tempHome } from '../../../test/e2e/helpers.ts';
import { topics } from '../../stream/port.ts';
import type { WriterMessage } from '../worker.ts';
import { Writer } from './writer.ts';

const T0 = Date.UTC(2026, 4, 1);
let platform: Platform;
let cleanup: () => void;

before(async () => {
  const t = tempHome('mw-writer-');
  cleanup = t.cleanup;
  platform = await Platform.open({ home: t.home, clock: new ManualClock(T0) });
  await platform.store.createProject({ name: 'p1', description: '', labels: {}, monitoring: null, createdAt: T0 });
});

after(async () => {
  await platform.close();
  cleanup();
});

function outputs(endpointId: string, ws: number, value: number): WriterMessage {
  return {
    type: 'outputs', project: 'p1', endpointId, app: HISTOGRAM_DRIFT_APP, windowStart: ws, windowEnd: ws + 600_000,
    results: [{ name: 'general_drift', value, kind: 0, status: value >= 0.7 ? 2 : 0, extraData: { features: {} } }],
    metrics: [{ name: 'tvd_mean', value }],
  };
}

test('one batch: a window delivered twice keeps its last copy; each endpoint shows its newest window', async () => {
  for (const id of ['a', 'b']) await platform.store.createEndpointIfMissing(sampleEndpoint({ id, name: id }));
  const stream = await platform.streamFor('p1');
  const batch = [outputs('a', T0, 0.1), outputs('a', T0, 0.9), outputs('b', T0 + 600_000, 0.8), outputs('b', T0, 0.2), outputs('gone', T0, 0.5)];
  await stream.publish(topics.writer('p1'), batch.map((m) => ({ key: m.endpointId, value: JSON.stringify(m) })));
  const w = new Writer(platform, 'p1');
  assert.equal(await w.step(), batch.length, 'all in one step');
  await w.close();
  const tsdb = await platform.tsdbFor('p1');
  const a = await tsdb.listResults('p1', { endpointId: 'a' });
  assert.deepEqual(a.map((r) => r.value), [0.9]);
  assert.deepEqual((await tsdb.listMetrics('p1', { endpointId: 'a' })).map((m) => m.value), [0.9]);
  assert.equal((await platform.store.getEndpoint('p1', 'a'))?.driftStatus, 'detected');
  const b = await platform.store.getEndpoint('p1', 'b');
  assert.equal(b?.driftMeasures.general_drift, 0.8, 'the older window of b, later in the batch, does not win');
  assert.equal((await tsdb.listResults('p1', { endpointId: 'b' })).length, 2);
  const events = await platform.store.listEvents('p1');
  assert.deepEqual(events.map((e) => `${e.endpointId} ${e.kind}`).sort(), ['a data-drift-detected', 'b data-drift-detected']);
});

test('an irrelevant general_drift is stored but leaves the drift status, measures and current stats as they were, and raises no event', async () => {
  await platform.store.createEndpointIfMissing(sampleEndpoint({ id: 'c', name: 'c' }));
  const stream = await platform.streamFor('p1');
  const w = new Writer(platform, 'p1');
  const detected = outputs('c', T0, 0.9);
  if (detected.type === 'outputs') detected.results[0]!.extraData = { features: {}, currentStats: { x: { count: 100, missing: 0 } } };
  await stream.publish(topics.writer('p1'), [{ key: 'c', value: JSON.stringify(detected) }]);
  await w.step();
  const small: WriterMessage = {
    type: 'outputs', project: 'p1', endpointId: 'c', app: HISTOGRAM_DRIFT_APP, windowStart: T0 + 600_000, windowEnd: T0 + 1_200_000,
    results: [{ name: 'general_drift', value: 0, kind: 0, status: -1, extraData: { message: 'too few rows', currentStats: { x: { count: 1, missing: 0 } } } }],
    metrics: [],
  };
  // In a batch of its own, and in one batch together with an older relevant window.
  await stream.publish(topics.writer('p1'), [{ key: 'c', value: JSON.stringify(small) }]);
  await w.step();
  let c = await platform.store.getEndpoint('p1', 'c');
  assert.equal(c?.driftStatus, 'detected');
  assert.equal(c?.driftMeasures.general_drift, 0.9);
  assert.equal(c?.driftMeasures.windowEnd, T0 + 600_000);
  assert.deepEqual(c?.currentStats, { x: { count: 100, missing: 0 } });
  await stream.publish(topics.writer('p1'), [small, outputs('c', T0 - 600_000, 0.2)].map((m) => ({ key: 'c', value: JSON.stringify(m) })));
  await w.step();
  c = await platform.store.getEndpoint('p1', 'c');
  assert.equal(c?.driftStatus, 'detected', 'the older window does not win over the newer relevant one either');
  await w.close();
  const stored = await (await platform.tsdbFor('p1')).listResults('p1', { endpointId: 'c' });
  assert.deepEqual(stored.map((r) => [r.windowStart, r.status]).sort((x, y) => x[0]! - y[0]!), [[T0 - 600_000, 0], [T0, 2], [T0 + 600_000, -1]]);
  const events = (await platform.store.listEvents('p1')).filter((e) => e.endpointId === 'c');
  assert.deepEqual(events.map((e) => `${e.kind} ${e.windowStart}`), [`data-drift-detected ${T0}`]);
});
