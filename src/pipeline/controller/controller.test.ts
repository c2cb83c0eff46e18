import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ManualClock } from '../../common/clock.ts';
import { endpointId } from '../../common/ids.ts';
import type { InferenceEvent } from '../../common/types.ts';
import { Platform } from '../../project/platform.ts';
import type { Store } from '../../store/port.ts';
import type { Stream } from '../../stream/port.ts';
import { topics } from '../../stream/port.ts';
import { tempHome } from '../../../test/e2e/helpers.ts';
import { StreamProcessor } from '../stream-processor/stream-processor.ts';
import { Controller } from './controller.ts';

/*
 * The controller's hand-out is fenced by a compare-and-set on the last analyzed marks. Two
 * platforms on one home stand for two controller processes; the real store and stream sit under
 * each, with one call held back or failed to place a stall, a failed publish or a crash exactly.
 */

const T0 = Date.UTC(2026, 4, 1);
const PERIOD = 600_000;
const LEASE_MS = 1000;
const APP = 'app';
let clock: ManualClock;
let a: Platform;
let b: Platform;
let cleanup: () => void;
let project = '';
/** Start of the window the current project had traffic in (each project a day after the one before: the clock only goes forward). */
let base = T0;
let n = 0;

/** Wraps `target` so that `method` runs `around` instead (which may call the real one). */
function intercept<T extends object>(target: T, method: keyof T, around: (real: (...args: unknown[]) => Promise<unknown>, args: unknown[]) => Promise<unknown>): T {
  return new Proxy(target, {
    get(t, k) {
      const v = Reflect.get(t, k, t) as unknown;
      if (typeof v !== 'function') return v;
      const real = (...args: unknown[]): Promise<unknown> => (v as (...x: unknown[]) => Promise<unknown>).apply(t, args);
      return k === method ? (...args: unknown[]) => around(real, args) : real;
    },
  });
}

function useStore(p: Platform, wrap: (s: Store) => Store): void {
  const real = p.endpointStoreFor.bind(p);
  p.endpointStoreFor = async (name: string) => wrap(await real(name));
}

function useStream(p: Platform, wrap: (s: Stream) => Stream): void {
  const real = p.streamFor.bind(p);
  p.streamFor = async (name: string) => wrap(await real(name));
}

/** Jobs published for the app so far (a fresh consumer group reads from the start). */
async function published(): Promise<number[]> {
  const sub = await (await a.streamFor(project)).subscribe(topics.app(project, APP), `probe-${n++}`);
  try {
    return (await sub.fetch(100, 0)).map((m) => (JSON.parse(m.value) as { windowStart: number }).windowStart);
  } finally {
    await sub.close();
  }
}

before(async () => {
  const t = tempHome('mw-controller-');
  cleanup = t.cleanup;
  clock = new ManualClock(T0);
  a = await Platform.open({ home: t.home, clock });
  b = await Platform.open({ home: t.home, clock });
});

after(async () => {
  await a.close();
  await b.close();
  cleanup();
});

/** A fresh project with one endpoint (its id returned) that had traffic in the window [base, base + PERIOD), and the clock past its grace. */
async function freshProject(): Promise<string> {
  project = `cas${n++}`;
  base = T0 + n * 86_400_000;
  clock.set(base);
  await a.store.createProject({ name: project, description: '', labels: {}, monitoring: { enabled: true, basePeriodMinutes: 10, graceSeconds: 60, maxWindowsPerTick: 4, enabledAt: base }, createdAt: base });
  await a.store.putFunction({ project, name: APP, kind: 'monitoring-application', spec: {}, labels: {}, deployed: true, status: { state: 'running' }, createdAt: base, updatedAt: base });
  const ev: InferenceEvent = {
    v: 1,
    endpointId: endpointId({ project, function: 'svc', model: 'm' }),
    project,
    function: 'svc',
    model: 'm',
    when: new Date(base + 1000).toISOString(),
    latencyUs: 1500,
    request: { id: 'r-1', inputs: [[1, 2]] },
    response: { outputs: [10] },
  };
  await (await a.streamFor(project)).publish(topics.events(project), [{ key: ev.endpointId, value: JSON.stringify(ev) }]);
  const sp = new StreamProcessor(a, project);
  while ((await sp.step()) > 0);
  await sp.close();
  clock.set(base + PERIOD + 60_000);
  return ev.endpointId;
}

test('a controller that stalls past its lease between renewing it and claiming hands out nothing the new leader handed out', async () => {
  await freshProject();
  let reached!: () => void;
  const atClaim = new Promise<void>((res) => (reached = res));
  let resume!: () => void;
  const gate = new Promise<void>((res) => (resume = res));
  useStore(a, (s) =>
    intercept(s, 'claimWindows', async (real, args) => {
      reached();
      await gate;
      return real(...args);
    }),
  );
  const stalled = new Controller(a, project, { holder: 'stalled', leaseTtlMs: LEASE_MS });
  const leader = new Controller(b, project, { holder: 'leader', leaseTtlMs: LEASE_MS });
  const first = stalled.step();
  await atClaim; // the lease was renewed, the windows are planned
  clock.advance(LEASE_MS + 1);
  assert.equal(await leader.step(), 1, 'the lease ran out: the other controller takes over and hands the window out');
  resume();
  assert.equal(await first, 0, 'the stalled controller finds the mark moved and hands out nothing');
  assert.deepEqual(await published(), [base], 'the window went out exactly once');
  clock.advance(LEASE_MS + 1);
  assert.equal(await stalled.step(), 0, 'nothing left');
  await stalled.close();
  await leader.close();
  delete (a as Partial<Platform>).endpointStoreFor;
});

test('a failed publish gives the claim back: the window is handed out on the next tick', async () => {
  const ep = await freshProject();
  let fail = true;
  useStream(a, (s) =>
    intercept(s, 'publish', async (real, args) => {
      if (fail && (args[0] as string) === topics.app(project, APP)) throw new Error('stream unavailable');
      return real(...args);
    }),
  );
  const c = new Controller(a, project, { holder: 'c', leaseTtlMs: LEASE_MS });
  await assert.rejects(c.step(), /stream unavailable/);
  assert.equal(await a.store.getLastAnalyzed(project, ep, APP), undefined, 'the mark did not move');
  fail = false;
  assert.equal(await c.step(), 1, 'not lost: handed out on the next tick without waiting for the claim to run out');
  assert.deepEqual(await published(), [base]);
  await c.close();
  delete (a as Partial<Platform>).streamFor;
});

test('a controller that dies between publishing and moving the mark: the window goes out again once its claim runs out', async () => {
  await freshProject();
  useStore(a, (s) =>
    intercept(s, 'completeClaims', () => {
      throw new Error('process died');
    }),
  );
  const dying = new Controller(a, project, { holder: 'dying', leaseTtlMs: LEASE_MS });
  await assert.rejects(dying.step(), /process died/);
  delete (a as Partial<Platform>).endpointStoreFor;
  const next = new Controller(b, project, { holder: 'next', leaseTtlMs: LEASE_MS });
  clock.advance(LEASE_MS + 1);
  assert.equal(await next.step(), 1, 'the claim ran out with the lease: handed out again (at least once)');
  assert.deepEqual(await published(), [base, base], 'delivered twice, never lost');
  clock.advance(LEASE_MS + 1);
  assert.equal(await next.step(), 0, 'the mark moved this time');
  await next.close();
});
