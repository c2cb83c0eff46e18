import assert from 'node:assert/strict';
import { describe, it as nodeIt } from 'node:test';
import { MonitoringApplication } from '../../src/apps/base.ts';
import type { MonitoringApplicationContext } from '../../src/apps/context.ts';
import { ManualClock } from '../../src/common/clock.ts';
import { endpointId } from '../../src/common/ids.ts';
import type { InferenceEvent } from '../../src/common/types.ts';
import { Controller } from '../../src/pipeline/controller/controller.ts';
import { reanalyzeWindows } from '../../src/pipeline/controller/reanalyze.ts';
import { StreamProcessor } from '../../src/pipeline/stream-processor/stream-processor.ts';
import type { Worker } from '../../src/pipeline/worker.ts';
import { Writer } from '../../src/pipeline/writer/writer.ts';
import { Platform } from '../../src/project/platform.ts';
import { createWorker, newRegistry } from '../../src/project/runtime.ts';
import type { FunctionRecord } from '../../src/store/port.ts';
import { partitionFor } from '../../src/stream/partition.ts';
import { topics } from '../../src/stream/port.ts';
import { tempHome } from '../e2e/helpers.ts';

/**
 * The controller's watermark on one stream backend: a window whose grace is over waits while the
 * stream processor has not stored the events published before then, and is analyzed on all its
 * rows once it has; a row stored after its window was analyzed is counted as late, shown, and
 * taken in by a reanalysis. Real store (SQLite), real stream, real workers driven step by step;
 * the clock is a ManualClock, so that "past the grace" is exact.
 */
export interface WatermarkSetup {
  /** The platform's stream URL (undefined: the embedded log under the home). */
  streamUrl?: string;
  /** Partitions of the events topic on that stream. */
  partitions: number;
  cleanup(): Promise<void>;
}

const PERIOD = 60_000;
const GRACE_S = 5;
/** Start of the window the traffic goes into. */
const W = Date.UTC(2026, 5, 1, 12, 0);
const EVENTS_PER_ENDPOINT = 100;
const ROWS_PER_EVENT = 2;
const APP = 'rows';

/** Returns the rows the window held, as the app saw them. */
class RowsApp extends MonitoringApplication {
  doTracking(ctx: MonitoringApplicationContext): Record<string, number> {
    return { rows: ctx.sample.totalRows };
  }
}

function event(project: string, id: string, model: string, at: number, i: number): InferenceEvent {
  return {
    v: 1,
    endpointId: id,
    project,
    function: 'svc',
    model,
    when: new Date(at).toISOString(),
    latencyUs: 1000,
    request: { id: `${model}-${at}-${i}`, inputs: Array.from({ length: ROWS_PER_EVENT }, (_, r) => [i, r]) },
    response: { outputs: Array.from({ length: ROWS_PER_EVENT }, () => 1) },
  };
}

/** Steps `worker` until `done()` holds; fails after `ms` of real time. */
async function drive(worker: Worker, done: () => Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > until) throw new Error(`${what}: not done after ${ms} ms`);
    if ((await worker.step()) === 0) await new Promise((r) => setTimeout(r, 20));
  }
}

export function runWatermarkCase(name: string, setup: () => Promise<WatermarkSetup>, opts: { skip?: string; sharedPartitions?: boolean } = {}): void {
  const it = (title: string, fn: () => Promise<void>, extra: { skip?: string } = {}): void => {
    const skip = opts.skip ?? extra.skip;
    nodeIt(title, skip ? { skip } : {}, fn);
  };

  /** A project with the rows app deployed, three endpoints spread over the partitions, and their events published. */
  async function scenario(s: WatermarkSetup, project: string) {
    const { home, cleanup } = tempHome('mw-watermark-');
    const clock = new ManualClock(W);
    const open = () => Platform.open({ home, clock, ...(s.streamUrl ? { streamUrl: s.streamUrl } : {}) });
    const platform = await open();
    await platform.store.createProject({
      name: project,
      description: '',
      labels: {},
      monitoring: { enabled: true, basePeriodMinutes: PERIOD / 60_000, graceSeconds: GRACE_S, maxWindowsPerTick: 20, enabledAt: W },
      createdAt: W,
    });
    const fn: FunctionRecord = { project, name: APP, kind: 'monitoring-application', spec: { inProcess: true }, labels: {}, deployed: true, status: { state: 'running' }, createdAt: W, updatedAt: W };
    await platform.store.putFunction(fn);
    const registry = newRegistry();
    registry.apps.set(`${project}/${APP}`, RowsApp);
    // One endpoint per partition where the partitions allow (the embedded log has one).
    const endpoints: { id: string; model: string }[] = [];
    const used = new Set<number>();
    for (let i = 0; endpoints.length < 3; i++) {
      const model = `m${i}`;
      const id = endpointId({ project, function: 'svc', model });
      const p = partitionFor(id, s.partitions);
      if (used.has(p) && used.size < Math.min(3, s.partitions)) continue;
      used.add(p);
      endpoints.push({ id, model });
    }
    const stream = await platform.streamFor(project);
    const publish = (events: InferenceEvent[]) => stream.publish(topics.events(project), events.map((e) => ({ key: e.endpointId, value: JSON.stringify(e) })));
    const tsdb = await platform.tsdbFor(project);
    const stored = async (window = { start: W, end: W + PERIOD }): Promise<Map<string, number>> =>
      tsdb.countPredictionsByEndpoint(project, endpoints.map((e) => e.id), window);
    const total = async (): Promise<number> => [...(await stored()).values()].reduce((a, b) => a + b, 0);
    const rowsMetric = async (): Promise<Map<string, number[]>> => {
      const out = new Map<string, number[]>();
      for (const m of await tsdb.listMetrics(project, { app: APP, name: 'rows' })) {
        if (m.windowStart !== W) continue;
        out.set(m.endpointId, [...(out.get(m.endpointId) ?? []), m.value]);
      }
      return out;
    };
    const runner = await createWorker(platform, fn, registry);
    const writer = new Writer(platform, project);
    /** Runs the app and the writer until every endpoint's `rows` metric of window W is `expected(id)`. */
    const analyze = async (expected: (id: string) => number) => {
      const ok = async () => {
        const got = await rowsMetric();
        return endpoints.every((e) => got.get(e.id)?.length === 1 && got.get(e.id)?.[0] === expected(e.id));
      };
      const until = Date.now() + 30_000;
      while (!(await ok())) {
        if (Date.now() > until) throw new Error(`the rows metric of window W is ${JSON.stringify([...(await rowsMetric())])}`);
        const did = (await runner.step()) + (await writer.step());
        if (did === 0) await new Promise((r) => setTimeout(r, 20));
      }
    };
    const close = async () => {
      await runner.close?.();
      await writer.close();
      await platform.close();
      cleanup();
    };
    return { platform, open, clock, endpoints, publish, stored, total, rowsMetric, analyze, close };
  }

  const perEndpoint = EVENTS_PER_ENDPOINT * ROWS_PER_EVENT;

  describe(`the controller's watermark on ${name}`, () => {
    it('a window waits past its grace while the stream processor is behind, then is analyzed on all its rows; a late row is counted, shown and reanalyzed', async () => {
      const s = await setup();
      const project = `wm${Math.random().toString(36).slice(2, 8)}`;
      const t = await scenario(s, project);
      try {
        const { platform, clock, endpoints } = t;
        await t.publish(endpoints.flatMap((e) => Array.from({ length: EVENTS_PER_ENDPOINT }, (_, i) => event(project, e.id, e.model, W + i * 500, i))));
        const all = endpoints.length * perEndpoint;

        // The processor stores a first part, then stalls.
        const sp = new StreamProcessor(platform, project, { batchSize: 20, lingerMs: 0 });
        await drive(sp, async () => (await t.total()) > 0, 'the first batches');
        const before = await t.total();
        assert.ok(before < all, `the processor is behind (${before} of ${all} rows stored)`);

        const c = new Controller(platform, project, { holder: 'c' });
        clock.set(W + PERIOD + GRACE_S * 1000 + 1);
        assert.equal(await c.step(), 0, 'the grace is over, but the events published before then are not all stored');
        assert.deepEqual(c.waiting, { end: W + PERIOD, since: clock.now() });
        clock.advance(10 * PERIOD);
        assert.equal(await c.step(), 0, 'however long past its grace, the window waits for the processor');
        assert.equal(await platform.store.getClosedThrough(project), undefined);
        assert.equal(await t.total(), before, 'the processor is still stalled');

        await drive(sp, async () => (await t.total()) === all, 'the processor catching up');
        assert.equal(await c.step(), endpoints.length, 'once every published event is stored, the window closes (the later, empty windows are skipped)');
        assert.equal(c.waiting, undefined);
        assert.equal(await platform.store.getClosedThrough(project), W + 11 * PERIOD);
        await t.analyze(() => perEndpoint);

        // A row for window W stored after its analysis is late: counted per endpoint and window.
        const [late, other] = endpoints as [{ id: string; model: string }, { id: string; model: string }];
        await t.publish([event(project, late.id, late.model, W + 30_000, 999)]);
        // A row of a window still in its grace is not.
        const openWindow = clock.now() - 1000;
        await t.publish([event(project, other.id, other.model, openWindow, 998)]);
        await drive(sp, async () => (await t.stored()).get(late.id) === perEndpoint + ROWS_PER_EVENT, 'storing the late event');
        await drive(sp, async () => ((await t.stored({ start: openWindow - (openWindow % PERIOD), end: openWindow - (openWindow % PERIOD) + PERIOD })).get(other.id) ?? 0) === ROWS_PER_EVENT, 'storing the on-time event');
        assert.equal(sp.lateRows, ROWS_PER_EVENT);
        const endpointStore = await platform.endpointStoreFor(project);
        assert.equal((await endpointStore.getEndpoint(project, late.id))?.latePredictions, ROWS_PER_EVENT);
        assert.equal((await endpointStore.getEndpoint(project, other.id))?.latePredictions, 0);
        const lateWindow = { endpointId: late.id, windowStart: W, windowEnd: W + PERIOD, latePredictions: ROWS_PER_EVENT, pendingPredictions: ROWS_PER_EVENT, reanalyzedAt: null };
        const listed = await endpointStore.listLateWindows(project);
        assert.deepEqual(
          listed.map(({ firstLateAt: _f, lastLateAt: _l, ...w }) => w),
          [lateWindow],
        );
        assert.equal(listed[0]?.firstLateAt, clock.now());
        assert.deepEqual((await t.rowsMetric()).get(late.id), [perEndpoint], 'the result stays as analyzed until a reanalysis');

        // Reanalysis on request: the window goes to the app again and its result is replaced.
        const handed = await reanalyzeWindows(platform, project, { late: true });
        assert.deepEqual(handed, [{ endpointId: late.id, app: APP, windowStart: W, windowEnd: W + PERIOD }]);
        await t.analyze((id) => (id === late.id ? perEndpoint + ROWS_PER_EVENT : perEndpoint));
        assert.deepEqual(await endpointStore.listLateWindows(project, { pending: true }), [], 'nothing late is left out of an analysis');
        assert.equal((await endpointStore.listLateWindows(project))[0]?.reanalyzedAt, clock.now());
        assert.deepEqual(await reanalyzeWindows(platform, project, { late: true }), [], 'nothing to do twice');
        await assert.rejects(reanalyzeWindows(platform, project, { endpointId: late.id, windowStart: clock.now() - (clock.now() % PERIOD) }), /has not been analyzed yet/);
        await sp.close();
        await c.close();
      } finally {
        await t.close();
        await s.cleanup();
      }
    });

    it(
      'with two stream processors sharing the partitions, a window waits for the one that is behind',
      async () => {
        const s = await setup();
        const project = `wm${Math.random().toString(36).slice(2, 8)}`;
        const t = await scenario(s, project);
        const second = await t.open();
        try {
          const { platform, clock, endpoints } = t;
          const a = new StreamProcessor(platform, project, { lingerMs: 0 });
          const b = new StreamProcessor(second, project, { lingerMs: 0 });
          // Both join the group before any event, and split the partitions between them.
          await a.step();
          await b.step();
          const owned = (sp: StreamProcessor) => (sp as unknown as { sub?: { ownedPartitions?: () => number[] } }).sub?.ownedPartitions?.() ?? [];
          const split = Date.now() + 30_000;
          while (owned(a).length === 0 || owned(b).length === 0 || owned(a).length + owned(b).length < s.partitions) {
            if (Date.now() > split) throw new Error(`the partitions were not split: ${JSON.stringify([owned(a), owned(b)])}`);
            await a.step();
            await b.step();
            await new Promise((r) => setTimeout(r, 50));
          }
          await t.publish(endpoints.flatMap((e) => Array.from({ length: EVENTS_PER_ENDPOINT }, (_, i) => event(project, e.id, e.model, W + i * 500, i))));
          const ofB = endpoints.filter((e) => owned(b).includes(partitionFor(e.id, s.partitions)));
          assert.ok(ofB.length > 0 && ofB.length < endpoints.length, 'each processor holds some of the traffic');
          // Only a works: it stores its partitions' events, b's stay unstored.
          await drive(a, async () => {
            const got = await t.stored();
            return endpoints.every((e) => ofB.includes(e) || got.get(e.id) === perEndpoint);
          }, 'processor a');
          const c = new Controller(platform, project, { holder: 'c' });
          clock.set(W + PERIOD + GRACE_S * 1000 + 1);
          assert.equal(await c.step(), 0, "b's partitions are not stored yet");
          assert.ok((await t.stored()).get(ofB[0]!.id) === undefined, 'b is stalled');
          await drive(b, async () => (await t.total()) === endpoints.length * perEndpoint, 'processor b');
          assert.equal(await c.step(), endpoints.length);
          await t.analyze(() => perEndpoint);
          await a.close();
          await b.close();
          await c.close();
        } finally {
          await second.close();
          await t.close();
          await s.cleanup();
        }
      },
      opts.sharedPartitions ? {} : { skip: 'one consumer per group on this stream: no partitions to share' },
    );
  });
}
