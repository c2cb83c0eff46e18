import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConflictError, NotFoundError } from '../../src/common/errors.ts';
import type { EndpointRecord } from '../../src/common/types.ts';
import type { FunctionRecord, ModelRecord, MonitoringEvent, Store } from '../../src/store/port.ts';
import type { TokenRecord } from '../../src/auth/tokens.ts';

/** Cases a backend may skip, each with the reason it gives. */
export interface StoreContractOptions {
  skip?: Partial<Record<'concurrency', string>>;
  /**
   * Opens a second handle on the database of `url` (the `url` of a store `open` returned), as
   * another process would: the two-handle races run only when it is given.
   */
  openSame?: (url: string) => Promise<Store>;
}

const T0 = Date.UTC(2026, 0, 1);

/** A complete endpoint record for tests. */
export function sampleEndpoint(over: Partial<EndpointRecord> = {}): EndpointRecord {
  return {
    project: 'p1',
    id: 'ep-1',
    name: 'model-a',
    function: 'serving',
    model: 'model-a',
    modelVersion: 'v1',
    modelUri: 'store://models/p1/model-a:latest',
    tag: 'latest',
    featureNames: ['f0', 'f1'],
    labelNames: ['label'],
    featureStats: { f0: { count: 10, missing: 0, mean: 1.5, hist: { counts: [1, 2, 3], edges: [0, 1, 2, 3] } } },
    currentStats: {},
    firstRequest: null,
    lastRequest: null,
    errorCount: 0,
    driftStatus: 'unknown',
    driftMeasures: {},
    monitoringMode: 'enabled',
    labels: { team: 'ml' },
    metrics: { predictions5m: 0, predictions1h: 0, latencyAvg5mUs: null, latencyAvg1hUs: null, predictionsPerSecond: 0 },
    latePredictions: 0,
    createdAt: T0,
    updatedAt: T0,
    ...over,
  };
}

/**
 * The contract every {@link Store} backend passes. `open` returns a fresh, empty store each call
 * (not yet migrated); the suite closes what it opens.
 */
export function runStoreContract(name: string, open: () => Promise<Store>, opts: StoreContractOptions = {}): void {
  async function withStore(fn: (s: Store) => Promise<void>): Promise<void> {
    const s = await open();
    try {
      await s.migrate();
      await fn(s);
    } finally {
      await s.close();
    }
  }

  const openSame = opts.openSame;
  const twoHandles = opts.skip?.concurrency ?? (openSame ? undefined : 'no second handle (openSame) given');
  async function withTwoStores(fn: (a: Store, b: Store) => Promise<void>): Promise<void> {
    await withStore(async (a) => {
      const b = await (openSame ?? assert.fail('openSame missing'))(a.url);
      try {
        await b.migrate();
        await fn(a, b);
      } finally {
        await b.close();
      }
    });
  }

  describe(`Store contract: ${name}`, () => {
    it('migrates idempotently', () =>
      withStore(async (s) => {
        await s.migrate();
        await s.migrate();
        assert.deepEqual(await s.listProjects(), []);
      }));

    it('creates, reads, updates and deletes projects', () =>
      withStore(async (s) => {
        await s.createProject({ name: 'p1', description: 'first', labels: { a: 'b' }, monitoring: null, createdAt: T0 });
        await assert.rejects(s.createProject({ name: 'p1', description: '', labels: {}, monitoring: null, createdAt: T0 }), ConflictError);
        const monitoring = { enabled: true, basePeriodMinutes: 10, graceSeconds: 60, maxWindowsPerTick: 3, enabledAt: T0 };
        await s.updateProject('p1', { monitoring, description: 'changed' });
        assert.deepEqual(await s.getProject('p1'), { name: 'p1', description: 'changed', labels: { a: 'b' }, monitoring, createdAt: T0 });
        await s.updateProject('p1', { monitoring: null });
        assert.equal((await s.getProject('p1'))?.monitoring, null);
        await assert.rejects(s.updateProject('nope', { description: 'x' }), NotFoundError);
        await s.createProject({ name: 'p0', description: '', labels: {}, monitoring: null, createdAt: T0 });
        assert.deepEqual((await s.listProjects()).map((p) => p.name), ['p0', 'p1']);
        await s.createEndpointIfMissing(sampleEndpoint());
        await s.deleteProject('p1');
        assert.equal(await s.getProject('p1'), undefined);
        assert.equal(await s.getEndpoint('p1', 'ep-1'), undefined);
      }));

    it('round-trips functions and merges their status', () =>
      withStore(async (s) => {
        const f: FunctionRecord = {
          project: 'p1',
          name: 'my-app',
          kind: 'monitoring-application',
          spec: { application: 'apps/x.js', options: { thresholds: [0.5, 0.7] }, nested: { deep: [1, { z: null }] } },
          labels: { x: 'y' },
          deployed: true,
          status: { state: 'running', pid: 12, restarts: 0 },
          createdAt: T0,
          updatedAt: T0,
        };
        await s.putFunction(f);
        assert.deepEqual(await s.getFunction('p1', 'my-app'), f);
        await s.putFunction({ ...f, deployed: false, updatedAt: T0 + 1 });
        assert.equal((await s.getFunction('p1', 'my-app'))?.deployed, false);
        await s.updateFunctionStatus('p1', 'my-app', { state: 'crashed', lastError: 'boom' });
        assert.deepEqual((await s.getFunction('p1', 'my-app'))?.status, { state: 'crashed', pid: 12, restarts: 0, lastError: 'boom' });
        await assert.rejects(s.updateFunctionStatus('p1', 'missing', { state: 'running' }), NotFoundError);
        await s.putFunction({ ...f, project: 'p2', name: 'other' });
        assert.equal((await s.listFunctions()).length, 2);
        assert.deepEqual((await s.listFunctions('p2')).map((x) => x.name), ['other']);
        await s.deleteFunction('p1', 'my-app');
        assert.equal(await s.getFunction('p1', 'my-app'), undefined);
      }));

    it('round-trips models and picks a version without a tag', () =>
      withStore(async (s) => {
        const m: ModelRecord = {
          project: 'p1',
          key: 'weather',
          tag: 'v1',
          uri: 'store://models/p1/weather:v1',
          modelFile: 'models/weather.js',
          className: 'WeatherModel',
          featureNames: ['temp', 'wind'],
          labelNames: ['rain'],
          featureStats: { temp: { count: 3, missing: 1, min: -2.5, max: 30, hist: { counts: [0, 1, 2, 0], edges: [-1e308, 0, 10, 30, 1e308] } } },
          labels: {},
          createdAt: T0,
        };
        await s.putModel(m);
        await s.putModel({ ...m, tag: 'v2', createdAt: T0 + 10, modelFile: null, className: null });
        assert.deepEqual(await s.getModel('p1', 'weather', 'v1'), m);
        assert.equal((await s.getModel('p1', 'weather'))?.tag, 'v2');
        await s.putModel({ ...m, tag: 'latest', createdAt: T0 + 5 });
        assert.equal((await s.getModel('p1', 'weather'))?.tag, 'latest');
        assert.equal((await s.listModels('p1')).length, 3);
        assert.equal(await s.getModel('p1', 'nothing'), undefined);
        // The kept training set's path; a model stored without one (logged before) reads back without.
        const kept: ModelRecord = { ...m, tag: 'kept', labels: { team: 'risk' }, trainingSet: 'p1/models/weather/kept/training-set.parquet' };
        await s.putModel(kept);
        assert.deepEqual(await s.getModel('p1', 'weather', 'kept'), kept);
        assert.equal('trainingSet' in ((await s.getModel('p1', 'weather', 'v1')) ?? {}), false);
      }));

    it('creates endpoints once, patches and bumps them', () =>
      withStore(async (s) => {
        const e = sampleEndpoint();
        assert.equal(await s.createEndpointIfMissing(e), true);
        assert.equal(await s.createEndpointIfMissing({ ...e, name: 'other' }), false);
        assert.deepEqual(await s.getEndpoint('p1', 'ep-1'), e);
        await s.patchEndpoint('p1', 'ep-1', { driftStatus: 'detected', driftMeasures: { general_drift: 0.8 }, updatedAt: T0 + 1 });
        const got = await s.getEndpoint('p1', 'ep-1');
        assert.equal(got?.driftStatus, 'detected');
        assert.deepEqual(got?.driftMeasures, { general_drift: 0.8 });
        assert.equal(got?.name, 'model-a');
        await assert.rejects(s.patchEndpoint('p1', 'missing', { name: 'x' }), NotFoundError);

        await s.bumpEndpoint('p1', 'ep-1', { errors: 2, firstRequest: T0 + 100, lastRequest: T0 + 200 });
        await s.bumpEndpoint('p1', 'ep-1', { firstRequest: T0 + 50, lastRequest: T0 + 150 });
        await s.bumpEndpoint('p1', 'ep-1', { errors: 1, firstRequest: T0 + 70, lastRequest: T0 + 300 });
        const b = await s.getEndpoint('p1', 'ep-1');
        assert.deepEqual([b?.errorCount, b?.firstRequest, b?.lastRequest], [3, T0 + 50, T0 + 300]);
        await Promise.all(Array.from({ length: 20 }, () => s.bumpEndpoint('p1', 'ep-1', { errors: 1 })));
        assert.equal((await s.getEndpoint('p1', 'ep-1'))?.errorCount, 23);
        await s.bumpEndpoint('p1', 'missing', { errors: 1 });

        await s.createEndpointIfMissing(sampleEndpoint({ id: 'ep-2', name: 'model-b' }));
        await s.bumpEndpoints(
          'p1',
          new Map([
            ['ep-2', { errors: 1, firstRequest: T0 + 10, lastRequest: T0 + 20 }],
            ['missing', { errors: 5 }],
            ['ep-1', { errors: 2, firstRequest: T0 + 40, lastRequest: T0 + 400 }],
          ]),
        );
        const [one, two] = await s.getEndpoints('p1', ['ep-1', 'ep-2']).then((es) => [es.find((x) => x.id === 'ep-1'), es.find((x) => x.id === 'ep-2')]);
        assert.deepEqual([one?.errorCount, one?.firstRequest, one?.lastRequest], [25, T0 + 40, T0 + 400]);
        assert.deepEqual([two?.errorCount, two?.firstRequest, two?.lastRequest], [1, T0 + 10, T0 + 20]);
        assert.equal(await s.getEndpoint('p1', 'missing'), undefined, 'a bump creates nothing');
        // Times only ever widen; an errors-only bump leaves them.
        await s.bumpEndpoints(
          'p1',
          new Map([
            ['ep-1', { errors: 0, firstRequest: T0 + 45, lastRequest: T0 + 350 }],
            ['ep-2', { errors: 3 }],
          ]),
        );
        const [one2, two2] = await s.getEndpoints('p1', ['ep-1', 'ep-2']).then((es) => [es.find((x) => x.id === 'ep-1'), es.find((x) => x.id === 'ep-2')]);
        assert.deepEqual([one2?.errorCount, one2?.firstRequest, one2?.lastRequest], [25, T0 + 40, T0 + 400]);
        assert.deepEqual([two2?.errorCount, two2?.firstRequest, two2?.lastRequest], [4, T0 + 10, T0 + 20]);
        await s.bumpEndpoints('p1', new Map());

        await s.createEndpointIfMissing(sampleEndpoint({ id: 'ep-0', name: 'a-first' }));
        assert.deepEqual((await s.listEndpoints('p1')).map((x) => x.id), ['ep-0', 'ep-1', 'ep-2']);
      }));

    it('keeps the last analyzed window per endpoint and app', () =>
      withStore(async (s) => {
        assert.equal(await s.getLastAnalyzed('p1', 'ep-1', 'app'), undefined);
        await s.setLastAnalyzed('p1', 'ep-1', 'app', T0 + 600_000);
        await s.setLastAnalyzed('p1', 'ep-1', 'app', T0 + 1_200_000);
        await s.setLastAnalyzed('p1', 'ep-1', 'other', T0);
        assert.equal(await s.getLastAnalyzed('p1', 'ep-1', 'app'), T0 + 1_200_000);
        assert.equal(await s.getLastAnalyzed('p1', 'ep-1', 'other'), T0);
      }));

    it('reads and writes endpoints and analysis state in bulk', () =>
      withStore(async (s) => {
        await s.createProject({ name: 'p1', description: '', labels: {}, monitoring: null, createdAt: T0 });
        await s.createEndpointIfMissing(sampleEndpoint({ id: 'ep-1', firstRequest: T0 }));
        await s.createEndpointIfMissing(sampleEndpoint({ id: 'ep-2', name: 'model-b' }));
        await s.createEndpointIfMissing(sampleEndpoint({ id: 'ep-3', name: 'model-c', firstRequest: T0 + 5, monitoringMode: 'disabled' }));
        const got = await s.getEndpoints('p1', ['ep-2', 'ep-1', 'missing', 'ep-1']);
        assert.deepEqual(got.map((e) => e.id).sort(), ['ep-1', 'ep-2']);
        assert.deepEqual(got.find((e) => e.id === 'ep-1'), await s.getEndpoint('p1', 'ep-1'));
        assert.deepEqual(await s.getEndpoints('p1', []), []);
        assert.deepEqual(await s.listMonitoredEndpoints('p1'), [{ id: 'ep-1', firstRequest: T0 }], 'enabled endpoints that have seen a request');
        await s.patchEndpoints('p1', [
          { id: 'ep-1', patch: { driftStatus: 'detected', driftMeasures: { general_drift: 0.8 } } },
          { id: 'gone', patch: { driftStatus: 'detected' } },
          { id: 'ep-2', patch: { driftStatus: 'no_detection', updatedAt: T0 + 9 } },
        ]);
        assert.equal((await s.getEndpoint('p1', 'ep-1'))?.driftStatus, 'detected');
        assert.deepEqual((await s.getEndpoint('p1', 'ep-1'))?.driftMeasures, { general_drift: 0.8 });
        assert.equal((await s.getEndpoint('p1', 'ep-2'))?.updatedAt, T0 + 9);
        await s.setLastAnalyzed('p1', 'ep-1', 'app', T0);
        await s.setLastAnalyzedMany('p1', 'app', new Map([['ep-1', T0 + 600_000], ['ep-2', T0 + 1_200_000]]));
        await s.setLastAnalyzedMany('p1', 'other', new Map([['ep-1', T0 + 1]]));
        await s.setLastAnalyzedMany('p1', 'app', new Map());
        assert.deepEqual([...(await s.listLastAnalyzed('p1', 'app'))].sort(), [['ep-1', T0 + 600_000], ['ep-2', T0 + 1_200_000]]);
        assert.equal(await s.getLastAnalyzed('p1', 'ep-1', 'other'), T0 + 1);
        assert.equal((await s.listLastAnalyzed('p2', 'app')).size, 0);
      }));

    it('claims last analyzed marks by compare-and-set, then moves them or gives them back', () =>
      withStore(async (s) => {
        await s.setLastAnalyzed('p1', 'ep-1', 'app', T0);
        const claims = [
          { endpointId: 'ep-1', expected: T0, end: T0 + 600_000 },
          { endpointId: 'ep-2', expected: undefined, end: T0 + 1_200_000 },
          { endpointId: 'ep-3', expected: T0 - 1, end: T0 + 600_000 },
        ];
        assert.deepEqual([...(await s.claimWindows('p1', 'app', claims, 'c1', T0 + 1000, T0))].sort(), ['ep-1', 'ep-2'], 'ep-3 has no mark, so none equal to its expected one');
        assert.deepEqual([...(await s.listLastAnalyzed('p1', 'app'))], [['ep-1', T0]], 'a claim moves no mark, and a claimed endpoint without one still has none');
        assert.equal(await s.getLastAnalyzed('p1', 'ep-2', 'app'), undefined);
        assert.equal((await s.claimWindows('p1', 'app', claims, 'c2', T0 + 1500, T0 + 500)).size, 0, 'a live claim keeps others out');
        assert.equal(await s.completeClaims('p1', 'app', 'c1'), 2);
        assert.deepEqual([...(await s.listLastAnalyzed('p1', 'app'))].sort(), [['ep-1', T0 + 600_000], ['ep-2', T0 + 1_200_000]]);
        assert.equal(await s.completeClaims('p1', 'app', 'c1'), 0, 'a claim completes once');

        const next = [{ endpointId: 'ep-1', expected: T0 + 600_000, end: T0 + 1_200_000 }];
        assert.equal((await s.claimWindows('p1', 'app', [{ endpointId: 'ep-1', expected: T0, end: T0 + 600_000 }], 'stale', T0 + 5000, T0 + 900)).size, 0, 'a stale expected mark claims nothing');
        assert.deepEqual([...(await s.claimWindows('p1', 'app', next, 'c3', T0 + 2000, T0 + 1000))], ['ep-1']);
        await s.releaseClaims('p1', 'app', 'c3');
        assert.equal(await s.getLastAnalyzed('p1', 'ep-1', 'app'), T0 + 600_000, 'a released claim leaves the mark');
        assert.deepEqual([...(await s.claimWindows('p1', 'app', next, 'c4', T0 + 3000, T0 + 2000))], ['ep-1'], 'a released claim can be taken again');
        assert.deepEqual([...(await s.claimWindows('p1', 'app', next, 'c5', T0 + 9000, T0 + 3001))], ['ep-1'], 'a claim that ran out is taken over');
        assert.equal(await s.completeClaims('p1', 'app', 'c4'), 0, 'a claim taken over no longer completes');
        assert.equal(await s.completeClaims('p1', 'app', 'c5'), 1);
        assert.equal(await s.getLastAnalyzed('p1', 'ep-1', 'app'), T0 + 1_200_000);
        assert.equal((await s.claimWindows('p1', 'other', next, 'c6', T0 + 9000, T0)).size, 0, 'marks are per app');
        assert.equal((await s.claimWindows('p1', 'app', [], 'c7', T0 + 9000, T0)).size, 0);
      }));

    it('lets exactly one of two concurrent compare-and-sets with the same expected mark win', { skip: opts.skip?.concurrency }, () =>
      withStore(async (s) => {
        await s.setLastAnalyzedMany('p1', 'app', new Map([['ep-1', T0], ['ep-2', T0]]));
        const claims = [
          { endpointId: 'ep-1', expected: T0, end: T0 + 600_000 },
          { endpointId: 'ep-2', expected: T0, end: T0 + 600_000 },
          { endpointId: 'ep-new', expected: undefined, end: T0 + 600_000 },
        ];
        const [x, y] = await Promise.all([s.claimWindows('p1', 'app', claims, 'x', T0 + 1000, T0), s.claimWindows('p1', 'app', claims, 'y', T0 + 1000, T0)]);
        for (const id of ['ep-1', 'ep-2', 'ep-new']) assert.equal(Number(x!.has(id)) + Number(y!.has(id)), 1, id);
      }));

    it('keeps the closed end forward only, tells how far windows were handed out, and counts late predictions per window and endpoint', () =>
      withStore(async (s) => {
        await s.createProject({ name: 'p1', description: '', labels: {}, monitoring: null, createdAt: T0 });
        await s.createEndpointIfMissing(sampleEndpoint({ id: 'ep-1' }));
        await s.createEndpointIfMissing(sampleEndpoint({ id: 'ep-2', name: 'model-b' }));
        assert.equal(await s.getClosedThrough('p1'), undefined);
        await s.setClosedThrough('p1', T0 + 600_000, T0 + 1);
        await s.setClosedThrough('p1', T0, T0 + 2);
        assert.equal(await s.getClosedThrough('p1'), T0 + 600_000, 'a stalled controller cannot move it back');
        await s.setClosedThrough('p1', T0 + 1_200_000, T0 + 3);
        assert.equal(await s.getClosedThrough('p1'), T0 + 1_200_000);
        assert.equal(await s.getClosedThrough('p2'), undefined);

        await s.setLastAnalyzed('p1', 'ep-1', 'app', T0 + 600_000);
        await s.setLastAnalyzed('p1', 'ep-1', 'other', T0 + 1_200_000);
        await s.claimWindows('p1', 'app', [{ endpointId: 'ep-2', expected: undefined, end: T0 + 600_000 }], 'c1', T0 + 1000, T0);
        assert.deepEqual(
          [...(await s.analyzedThrough('p1', ['ep-1', 'ep-2', 'ep-3']))].sort(),
          [['ep-1', T0 + 1_200_000], ['ep-2', T0 + 600_000]],
          'the latest mark over the apps, or a claim on its way',
        );
        assert.equal((await s.analyzedThrough('p1', [])).size, 0);

        await s.addLatePredictions('p1', [{ endpointId: 'ep-1', windowStart: T0, windowEnd: T0 + 600_000, predictions: 3 }], T0 + 10);
        await s.addLatePredictions('p1', [
          { endpointId: 'ep-1', windowStart: T0, windowEnd: T0 + 600_000, predictions: 2 },
          { endpointId: 'ep-2', windowStart: T0 + 600_000, windowEnd: T0 + 1_200_000, predictions: 4 },
          { endpointId: 'ep-2', windowStart: T0, windowEnd: T0 + 600_000, predictions: 0 },
        ], T0 + 20);
        assert.equal((await s.getEndpoint('p1', 'ep-1'))?.latePredictions, 5);
        assert.equal((await s.getEndpoint('p1', 'ep-2'))?.latePredictions, 4);
        const w1 = { endpointId: 'ep-1', windowStart: T0, windowEnd: T0 + 600_000, latePredictions: 5, pendingPredictions: 5, firstLateAt: T0 + 10, lastLateAt: T0 + 20, reanalyzedAt: null };
        const w2 = { endpointId: 'ep-2', windowStart: T0 + 600_000, windowEnd: T0 + 1_200_000, latePredictions: 4, pendingPredictions: 4, firstLateAt: T0 + 20, lastLateAt: T0 + 20, reanalyzedAt: null };
        assert.deepEqual(await s.listLateWindows('p1'), [w2, w1], 'newest window first');
        assert.deepEqual(await s.listLateWindows('p1', { endpointId: 'ep-1' }), [w1]);
        assert.deepEqual(await s.listLateWindows('p1', { limit: 1 }), [w2]);
        await s.markReanalyzed('p1', [{ endpointId: 'ep-1', windowStart: T0 }], T0 + 30);
        await s.addLatePredictions('p1', [{ endpointId: 'ep-2', windowStart: T0 + 600_000, windowEnd: T0 + 1_200_000, predictions: 1 }], T0 + 40);
        await s.markReanalyzed('p1', [{ endpointId: 'ep-2', windowStart: T0 + 600_000 }], T0 + 35);
        await s.addLatePredictions('p1', [{ endpointId: 'ep-2', windowStart: T0 + 600_000, windowEnd: T0 + 1_200_000, predictions: 2 }], T0 + 50);
        assert.deepEqual(await s.listLateWindows('p1', { pending: true }), [{ ...w2, latePredictions: 7, pendingPredictions: 2, lastLateAt: T0 + 50, reanalyzedAt: T0 + 35 }], 'what came after a reanalysis is pending again');
        assert.deepEqual((await s.listLateWindows('p1', { endpointId: 'ep-1' }))[0], { ...w1, pendingPredictions: 0, reanalyzedAt: T0 + 30 });
        assert.deepEqual(await s.listLateWindows('p2'), []);
      }));

    it('gives a lease to one holder until it expires or is released', () =>
      withStore(async (s) => {
        assert.equal(await s.acquireLease('controller', 'a', 1000, T0), true);
        assert.equal(await s.acquireLease('controller', 'b', 1000, T0 + 500), false);
        assert.equal(await s.acquireLease('controller', 'a', 1000, T0 + 900), true, 'the holder renews');
        assert.equal(await s.acquireLease('controller', 'b', 1000, T0 + 1800), false, 'renewed lease still held');
        assert.equal(await s.acquireLease('controller', 'b', 1000, T0 + 2000), true, 'expired lease is taken');
        assert.equal(await s.acquireLease('controller', 'a', 1000, T0 + 2100), false);
        await s.releaseLease('controller', 'a');
        assert.equal(await s.acquireLease('controller', 'a', 1000, T0 + 2200), false, 'only the holder releases');
        await s.releaseLease('controller', 'b');
        assert.equal(await s.acquireLease('controller', 'a', 1000, T0 + 2300), true);
        assert.equal(await s.acquireLease('other-lease', 'b', 1000, T0 + 2300), true, 'leases are independent');
      }));

    it('tells who holds a lease until it runs out or is released', () =>
      withStore(async (s) => {
        assert.equal(await s.leaseHolder('supervisor', T0), undefined, 'never taken');
        assert.equal(await s.acquireLease('supervisor', 'a', 1000, T0), true);
        assert.equal(await s.leaseHolder('supervisor', T0 + 500), 'a');
        assert.equal(await s.leaseHolder('supervisor', T0 + 1000), 'a', 'held up to its expiry, as acquireLease sees it');
        assert.equal(await s.leaseHolder('supervisor', T0 + 1001), undefined, 'run out');
        assert.equal(await s.leaseHolder('other', T0 + 500), undefined);
        assert.equal(await s.acquireLease('supervisor', 'b', 1000, T0 + 1500), true);
        await s.releaseLease('supervisor', 'b');
        assert.equal(await s.leaseHolder('supervisor', T0 + 1600), undefined, 'released');
      }));

    it('lets exactly one of many racing holders win a lease', { skip: opts.skip?.concurrency }, () =>
      withStore(async (s) => {
        const wins = await Promise.all(Array.from({ length: 10 }, (_, i) => s.acquireLease('race', `h${i}`, 1000, T0)));
        assert.equal(wins.filter(Boolean).length, 1);
      }));

    it('lets exactly one of two store handles win a lease, fresh or expired', { skip: twoHandles }, () =>
      withTwoStores(async (a, b) => {
        for (let round = 0; round < 5; round++) {
          const wins = await Promise.all(
            Array.from({ length: 4 }, (_, i) => [a.acquireLease(`race-${round}`, `a${i}`, 1000, T0), b.acquireLease(`race-${round}`, `b${i}`, 1000, T0)]).flat(),
          );
          assert.equal(wins.filter(Boolean).length, 1, `round ${round}`);
        }
        const late = await Promise.all([a.acquireLease('race-0', 'late-a', 1000, T0 + 5000), b.acquireLease('race-0', 'late-b', 1000, T0 + 5000)]);
        assert.equal(late.filter(Boolean).length, 1, 'one of two takes over an expired lease');
      }));

    it('lets exactly one of two store handles win each compare-and-set on a mark', { skip: twoHandles }, () =>
      withTwoStores(async (a, b) => {
        const ids = Array.from({ length: 50 }, (_, i) => `ep-${i}`);
        await a.setLastAnalyzedMany('p1', 'app', new Map(ids.slice(0, 25).map((id) => [id, T0])));
        for (let round = 0; round < 3; round++) {
          const from = (id: string): number | undefined => (round === 0 ? (Number(id.slice(3)) < 25 ? T0 : undefined) : T0 + round * 600_000);
          const claims = ids.map((id) => ({ endpointId: id, expected: from(id), end: T0 + (round + 1) * 600_000 }));
          const got = await Promise.all([a, b, a, b].map((s, i) => s.claimWindows('p1', 'app', claims, `r${round}-${i}`, T0 + 1000, T0)));
          for (const id of ids) assert.equal(got.filter((g) => g.has(id)).length, 1, `round ${round}: ${id}`);
          const moved = await Promise.all(got.map((_, i) => (i % 2 === 0 ? a : b).completeClaims('p1', 'app', `r${round}-${i}`)));
          assert.equal(moved.reduce((x, y) => x + y, 0), ids.length);
        }
        assert.deepEqual(new Set((await b.listLastAnalyzed('p1', 'app')).values()), new Set([T0 + 3 * 600_000]));
      }));

    it('adds up bumpEndpoint and creates an endpoint once across two store handles', { skip: twoHandles }, () =>
      withTwoStores(async (a, b) => {
        const created = await Promise.all([a, b, a, b].map((s) => s.createEndpointIfMissing(sampleEndpoint())));
        assert.equal(created.filter(Boolean).length, 1);
        await Promise.all(
          Array.from({ length: 40 }, (_, i) =>
            (i % 2 === 0 ? a : b).bumpEndpoint('p1', 'ep-1', { errors: 1, firstRequest: T0 + 1000 - i, lastRequest: T0 + 2000 + i }),
          ),
        );
        const e = await b.getEndpoint('p1', 'ep-1');
        assert.deepEqual([e?.errorCount, e?.firstRequest, e?.lastRequest], [40, T0 + 1000 - 39, T0 + 2000 + 39]);
      }));

    it('adds up bumpEndpoints of the same endpoints from two store handles at once', { skip: twoHandles }, () =>
      withTwoStores(async (a, b) => {
        const ids = ['ep-1', 'ep-2', 'ep-3', 'ep-4'];
        for (const id of ids) await a.createEndpointIfMissing(sampleEndpoint({ id, name: id }));
        // Each handle lists the endpoints in another order: the store orders its updates itself.
        await Promise.all(
          Array.from({ length: 16 }, (_, i) => {
            const order = i % 2 === 0 ? ids : [...ids].reverse();
            return (i % 2 === 0 ? a : b).bumpEndpoints('p1', new Map(order.map((id) => [id, { errors: 1, firstRequest: T0 + 100 - i, lastRequest: T0 + 200 + i }])));
          }),
        );
        for (const e of await b.getEndpoints('p1', ids)) assert.deepEqual([e.errorCount, e.firstRequest, e.lastRequest], [16, T0 + 100 - 15, T0 + 200 + 15], e.id);
      }));

    it('stores monitoring events and lists them newest first', () =>
      withStore(async (s) => {
        const ev = (i: number, over: Partial<MonitoringEvent> = {}): MonitoringEvent => ({
          project: 'p1',
          kind: 'data-drift-detected',
          endpointId: 'ep-1',
          app: 'histogram-data-drift',
          resultName: 'general_drift',
          value: 0.5 + i / 100,
          kindValue: 0,
          status: 2,
          windowStart: T0 + i * 60_000,
          windowEnd: T0 + (i + 1) * 60_000,
          message: `event ${i}`,
          time: T0 + i * 60_000,
          ...over,
        });
        await s.addEvents([ev(0), ev(1), ev(2, { kind: 'mm-app-failed', resultName: null, value: null, kindValue: null, status: null })]);
        await s.addEvents([ev(3, { endpointId: 'ep-2' }), ev(4, { project: 'p2' })]);
        await s.addEvents([]);
        const all = await s.listEvents('p1');
        assert.deepEqual(all.map((e) => e.message), ['event 3', 'event 2', 'event 1', 'event 0']);
        assert.ok(all.every((e) => typeof e.id === 'number'));
        const { id: _id, ...rest } = all[1] ?? assert.fail('missing');
        assert.deepEqual(rest, ev(2, { kind: 'mm-app-failed', resultName: null, value: null, kindValue: null, status: null }));
        assert.equal((await s.listEvents('p1', { endpointId: 'ep-2' })).length, 1);
        assert.equal((await s.listEvents('p1', { kind: 'mm-app-failed' })).length, 1);
        assert.deepEqual((await s.listEvents('p1', { since: T0 + 120_000 })).map((e) => e.message), ['event 3', 'event 2']);
        assert.deepEqual((await s.listEvents('p1', { limit: 1 })).map((e) => e.message), ['event 3']);
        // Delivered again (a writer batch after a crash), alone and beside new ones: each recorded once, the first record kept.
        await s.addEvents([ev(1, { message: 'again', time: T0 + 9e6 }), ev(2, { kind: 'mm-app-failed', resultName: null, value: null, kindValue: null, status: null, message: 'again' })]);
        await s.addEvents([ev(0, { message: 'again' }), ev(5), ev(5), ev(2, { kind: 'data-drift-suspected', status: 1 })]);
        assert.deepEqual((await s.listEvents('p1')).map((e) => e.message), ['event 5', 'event 3', 'event 2', 'event 2', 'event 1', 'event 0']);
      }));

    it('stores credentials per project', () =>
      withStore(async (s) => {
        assert.equal(await s.getCredentials('p1'), undefined);
        await s.setCredentials('p1', { tsdbConnection: 'postgres://u:secret@h/db', streamPath: 'embedded://' });
        assert.deepEqual(await s.getCredentials('p1'), { tsdbConnection: 'postgres://u:secret@h/db', streamPath: 'embedded://' });
        await s.setCredentials('p1', { endpointStoreConnection: 'sqlite:///x.db' });
        assert.deepEqual(await s.getCredentials('p1'), { endpointStoreConnection: 'sqlite:///x.db' });
      }));

    it('stores API tokens by id, lists them oldest first, and revokes them for good', () =>
      withStore(async (s) => {
        const token = (id: string, over: Partial<TokenRecord> = {}): TokenRecord => ({
          id,
          name: `person ${id}`,
          role: 'viewer',
          project: null,
          hash: `scrypt$16384$8$1$salt${id}$hash${id}`,
          createdAt: T0 + Number.parseInt(id.slice(-1), 16),
          revokedAt: null,
          ...over,
        });
        assert.deepEqual(await s.listTokens(), []);
        assert.equal(await s.getToken('0000000000000001'), undefined);
        await s.createToken(token('0000000000000002', { role: 'admin' }));
        await s.createToken(token('0000000000000001', { project: 'p1', role: 'editor' }));
        await assert.rejects(s.createToken(token('0000000000000001')), ConflictError, 'an id is never reused');
        assert.deepEqual(await s.getToken('0000000000000001'), token('0000000000000001', { project: 'p1', role: 'editor' }));
        assert.deepEqual((await s.listTokens()).map((t) => t.id), ['0000000000000001', '0000000000000002']);
        assert.deepEqual((await s.listTokens({ project: 'p1' })).map((t) => t.id), ['0000000000000001']);
        assert.equal(await s.revokeToken('0000000000000002', T0 + 50), true);
        assert.equal(await s.revokeToken('0000000000000002', T0 + 99), true, 'revoking again changes nothing');
        assert.equal((await s.getToken('0000000000000002'))?.revokedAt, T0 + 50);
        assert.equal(await s.revokeToken('00000000000000ff', T0), false);
        assert.equal((await s.listTokens()).length, 2, 'a revoked token keeps its row');
      }));
  });
}
