import assert from 'node:assert/strict';
import { describe, it as nodeIt } from 'node:test';
import { partitionFor } from '../../src/stream/partition.ts';
import { caughtUp, compareOffsets, type Stream, type StreamMessage, type Subscription } from '../../src/stream/port.ts';

/**
 * One backing log for one test. `open` may be called several times: every handle sees the same
 * messages and committed offsets (as processes sharing a deployment do); `owner` names a distinct
 * consumer, as a separate process would be.
 */
export interface StreamHarness {
  open(opts?: { owner?: string }): Promise<Stream>;
  cleanup(): Promise<void>;
}

/** Reads until `n` messages arrived or `waitMs` passed. */
export async function fetchN(sub: Subscription, n: number, waitMs = 2000): Promise<StreamMessage[]> {
  const out: StreamMessage[] = [];
  const until = Date.now() + waitMs;
  while (out.length < n && Date.now() < until) out.push(...(await sub.fetch(n - out.length, 50)));
  return out;
}

const msgs = (prefix: string, n: number, key = 'k') => Array.from({ length: n }, (_, i) => ({ key, value: `${prefix}${i}` }));

/**
 * The contract every {@link Stream} backend passes: durable, ordered per key, consumer groups that
 * resume after their acknowledged offset, and a group's messages never handed to two live consumers.
 */
export function runStreamContract(
  name: string,
  setup: () => Promise<StreamHarness>,
  opts: {
    skip?: string;
    /** Optional operations the backend leaves out, each with the reason (reported as a skipped case). */
    unsupported?: { truncate?: string };
  } = {},
): void {
  async function withHarness(fn: (h: StreamHarness) => Promise<void>): Promise<void> {
    const h = await setup();
    try {
      await fn(h);
    } finally {
      await h.cleanup();
    }
  }

  // Skipped cases are reported one by one, with the reason (a backend without its server).
  const it = (title: string, fn: () => Promise<void>): void => {
    nodeIt(title, opts.skip ? { skip: opts.skip } : {}, fn);
  };
  const itOptional = (op: keyof NonNullable<typeof opts.unsupported>, title: string, fn: () => Promise<void>): void => {
    const reason = opts.skip ?? opts.unsupported?.[op];
    nodeIt(title, reason ? { skip: reason } : {}, fn);
  };

  describe(`Stream contract: ${name}`, () => {
    it('delivers messages in order with growing offsets', () =>
      withHarness(async (h) => {
        const s = await h.open();
        await s.publish('t', msgs('m', 5));
        await s.publish('t', []);
        const sub = await s.subscribe('t', 'g');
        const got = await fetchN(sub, 5);
        assert.deepEqual(got.map((m) => m.value), ['m0', 'm1', 'm2', 'm3', 'm4']);
        for (let i = 1; i < got.length; i++) assert.ok(compareOffsets(got[i - 1]?.offset ?? '', got[i]?.offset ?? '') < 0);
        assert.ok(got.every((m) => m.topic === 't' && m.key === 'k' && typeof m.timestamp === 'number' && Number.isInteger(m.partition)));
        assert.deepEqual(await sub.fetch(10, 0), []);
        await s.close();
      }));

    it('keeps per-key order and one partition per key', () =>
      withHarness(async (h) => {
        const s = await h.open();
        const keys = ['a', 'b', 'c', 'd'];
        for (let i = 0; i < 5; i++) await s.publish('t', keys.map((key) => ({ key, value: `${key}${i}` })));
        const sub = await s.subscribe('t', 'g');
        const got = await fetchN(sub, 20);
        for (const key of keys) {
          const mine = got.filter((m) => m.key === key);
          assert.deepEqual(mine.map((m) => m.value), [0, 1, 2, 3, 4].map((i) => `${key}${i}`));
          assert.equal(new Set(mine.map((m) => m.partition)).size, 1);
        }
        await s.close();
      }));

    it('resumes a group after its acknowledged offset when reopened', () =>
      withHarness(async (h) => {
        const s1 = await h.open();
        await s1.publish('t', msgs('m', 5));
        const sub1 = await s1.subscribe('t', 'g');
        const first = await fetchN(sub1, 3);
        assert.equal(first.length, 3);
        await sub1.ack(first.slice(0, 2));
        await s1.close();

        const s2 = await h.open();
        const sub2 = await s2.subscribe('t', 'g');
        const again = await fetchN(sub2, 3);
        assert.deepEqual(again.map((m) => m.value), ['m2', 'm3', 'm4'], 'the un-acknowledged message comes again');
        await sub2.ack(again);
        assert.equal(await sub2.lag(), 0);
        await s2.close();
      }));

    it('keeps groups independent', () =>
      withHarness(async (h) => {
        const s = await h.open();
        await s.publish('t', msgs('m', 3));
        const a = await s.subscribe('t', 'ga');
        const b = await s.subscribe('t', 'gb');
        const fromA = await fetchN(a, 3);
        await a.ack(fromA);
        assert.deepEqual((await fetchN(b, 3)).map((m) => m.value), ['m0', 'm1', 'm2']);
        assert.equal(await a.lag(), 0);
        assert.equal(await b.lag(), 3);
        await s.close();
      }));

    it('counts lag as appended and not acknowledged', () =>
      withHarness(async (h) => {
        const s = await h.open();
        const sub = await s.subscribe('t', 'g');
        assert.equal(await sub.lag(), 0);
        await s.publish('t', msgs('m', 4));
        await s.publish('other-topic', msgs('x', 2));
        assert.equal(await sub.lag(), 4);
        const got = await fetchN(sub, 4);
        assert.equal(await sub.lag(), 4, 'fetching does not acknowledge');
        await sub.ack(got.slice(0, 2));
        assert.equal(await sub.lag(), 2);
        await s.close();
      }));

    it("starts a new group at the end with from: 'latest'", () =>
      withHarness(async (h) => {
        const s = await h.open();
        await s.publish('t', msgs('old', 2));
        const sub = await s.subscribe('t', 'late', { from: 'latest' });
        await s.publish('t', msgs('new', 1));
        assert.deepEqual((await fetchN(sub, 1)).map((m) => m.value), ['new0']);
        assert.deepEqual(await sub.fetch(5, 0), []);
        await s.close();
      }));

    it('reports per partition the last offset published and what a group acknowledged, whoever reads', () =>
      withHarness(async (h) => {
        const producer = await h.open({ owner: 'producer' });
        const consumer = await h.open();
        const empty = await producer.progress('t', 'g');
        assert.ok(empty.length >= 2, 'the harness has several partitions');
        assert.deepEqual(
          empty.map((p) => [p.partition, p.published, p.acknowledged]),
          empty.map((_, i) => [i, undefined, undefined]),
          'no events, no group: nothing published, nothing acknowledged',
        );
        // Keys on every partition but the last one, which stays without traffic.
        const n = empty.length;
        const keys: string[] = [];
        for (let i = 0; keys.length < 3 * (n - 1); i++) {
          const key = `key-${i}`;
          if (partitionFor(key, n) !== n - 1) keys.push(key);
        }
        await producer.publish('t', keys.flatMap((key) => [0, 1].map((j) => ({ key, value: `${key}/${j}` }))));
        const at = await consumer.progress('t', 'g');
        assert.ok(!caughtUp(at, at), 'nobody acknowledged what was published');
        const sub = await consumer.subscribe('t', 'g');
        const got = await fetchN(sub, keys.length * 2);
        assert.equal(got.length, keys.length * 2);
        for (const p of at) {
          const mine = got.filter((m) => m.partition === p.partition).map((m) => m.offset);
          const last = mine.reduce<string | undefined>((a, b) => (a === undefined || compareOffsets(b, a) > 0 ? b : a), undefined);
          assert.equal(p.published, last, `partition ${p.partition}: the offset of its last event`);
          assert.equal(p.acknowledged, undefined);
        }
        assert.equal(at[n - 1]?.published, undefined, 'a partition without traffic has nothing published');
        await sub.ack(got.slice(0, 1));
        assert.ok(!caughtUp(at, await producer.progress('t', 'g')), 'one acknowledged event is not all of them');
        await sub.ack(got);
        const done = await producer.progress('t', 'g');
        assert.ok(caughtUp(at, done), 'every event published before the first read is acknowledged');
        for (const p of at) if (p.published !== undefined) assert.ok(compareOffsets(done[p.partition]!.acknowledged!, p.published) >= 0);
        // What comes after the first read does not matter to it, only to a read taken after it.
        await producer.publish('t', [{ key: keys[0]!, value: 'later' }]);
        const later = await producer.progress('t', 'g');
        assert.ok(caughtUp(at, later));
        assert.ok(!caughtUp(later, later));
        assert.ok(!caughtUp(at, await producer.progress('t', 'other')), 'another group acknowledged nothing');
        await sub.close();
      }));

    it('wakes a waiting fetch when a message arrives', () =>
      withHarness(async (h) => {
        const consumer = await h.open();
        const producer = await h.open({ owner: 'producer' });
        const sub = await consumer.subscribe('t', 'g');
        const started = Date.now();
        setTimeout(() => void producer.publish('t', msgs('late', 1)), 100);
        const got = await sub.fetch(10, 5000);
        assert.deepEqual(got.map((m) => m.value), ['late0']);
        assert.ok(Date.now() - started < 4000);
        await producer.close();
        await consumer.close();
      }));

    it('never hands one message to two live consumers of a group', () =>
      withHarness(async (h) => {
        const a = await h.open({ owner: 'consumer-a' });
        const b = await h.open({ owner: 'consumer-b' });
        await a.publish('t', msgs('m', 10, 'k1').concat(msgs('n', 10, 'k2')));
        const subA = await a.subscribe('t', 'g');
        let subB: Subscription | undefined;
        try {
          subB = await b.subscribe('t', 'g');
        } catch {
          subB = undefined; // a backend may refuse the second consumer outright
        }
        const fromA = await fetchN(subA, 20, 500);
        const fromB = subB ? await fetchN(subB, 20, 500) : [];
        const id = (m: StreamMessage) => `${m.partition}:${m.offset}`;
        const seenA = new Set(fromA.map(id));
        assert.ok(fromB.every((m) => !seenA.has(id(m))), 'no message went to both consumers');
        assert.equal(fromA.length + fromB.length, 20);
        await b.close();
        await a.close();
      }));

    it('splits a group between two members: every message once, per-key order kept', () =>
      withHarness(async (h) => {
        const a = await h.open({ owner: 'member-a' });
        const b = await h.open({ owner: 'member-b' });
        const keys = Array.from({ length: 12 }, (_, i) => `key-${i}`);
        const subA = await a.subscribe('t', 'g');
        const subB = await subscribeOrRefused(b, 't', 'g');
        for (let round = 0; round < 10; round++) await a.publish('t', keys.map((key) => ({ key, value: `${key}:${round}` })));
        const got = await drainGroup([subA, subB], 120, 15_000);
        assertOnceInKeyOrder(got, keys, 10);
        await b.close();
        await a.close();
      }));

    it("hands a closed member's partitions to the rest of the group", () =>
      withHarness(async (h) => {
        const a = await h.open({ owner: 'member-a' });
        const b = await h.open({ owner: 'member-b' });
        const keys = Array.from({ length: 12 }, (_, i) => `key-${i}`);
        const subA = await a.subscribe('t', 'g');
        let subB = await subscribeOrRefused(b, 't', 'g');
        for (let round = 0; round < 5; round++) await a.publish('t', keys.map((key) => ({ key, value: `${key}:${round}` })));
        const first = await drainGroup([subA, subB], 60, 15_000);
        await a.close();
        subB ??= await b.subscribe('t', 'g');
        for (let round = 5; round < 10; round++) await b.publish('t', keys.map((key) => ({ key, value: `${key}:${round}` })));
        const rest = await drainGroup([subB], 60, 15_000);
        assert.ok(rest.every((m) => Number(m.value.split(':')[1]) >= 5), 'nothing acknowledged comes again');
        assertOnceInKeyOrder([...first, ...rest], keys, 10);
        await b.close();
      }));

    it('redelivers what a closed member did not acknowledge to another member', () =>
      withHarness(async (h) => {
        const a = await h.open({ owner: 'member-a' });
        const b = await h.open({ owner: 'member-b' });
        await a.publish('t', msgs('m', 30, 'k1').concat(msgs('n', 30, 'k2')));
        const subA = await a.subscribe('t', 'g');
        const taken = await fetchN(subA, 20, 3000);
        assert.equal(taken.length, 20);
        const acked: StreamMessage[] = [];
        for (const key of ['k1', 'k2']) acked.push(...taken.filter((m) => m.key === key).slice(0, 3));
        await subA.ack(acked);
        await a.close();
        const subB = await b.subscribe('t', 'g');
        const ackedValues = new Set(acked.map((m) => m.value));
        const all = msgs('m', 30, 'k1').concat(msgs('n', 30, 'k2'));
        const again = await fetchN(subB, all.length - acked.length, 5000);
        assert.equal(again.length, all.length - acked.length, 'everything not acknowledged comes to the other member');
        for (const key of ['k1', 'k2']) {
          const mine = again.filter((m) => m.key === key).map((m) => m.value);
          assert.deepEqual(mine, all.filter((m) => m.key === key && !ackedValues.has(m.value)).map((m) => m.value), `order of ${key}`);
        }
        assert.deepEqual(await subB.fetch(10, 100), []);
        await b.close();
      }));

    itOptional('truncate', 'truncates what every group acknowledged and is old enough, and nothing else', () =>
      withHarness(async (h) => {
        const s = await h.open();
        assert.ok(s.truncate, 'the backend has truncate, or names why not');
        const truncate = (olderThanMs: number) => s.truncate!({ olderThanMs });
        // One message per call: a backend may only remove whole stored messages.
        for (let i = 0; i < 6; i++) await s.publish('t', [{ key: 'k', value: `a${i}` }]);
        for (let i = 0; i < 3; i++) await s.publish('u', [{ key: 'k', value: `x${i}` }]);
        const g = await s.subscribe('t', 'g');
        const got = await fetchN(g, 6);
        assert.deepEqual(got.map((m) => m.value), ['a0', 'a1', 'a2', 'a3', 'a4', 'a5']);
        await g.ack(got.slice(0, 4));
        const g2 = await s.subscribe('t', 'g2');
        const got2 = await fetchN(g2, 6);
        await g2.ack(got2.slice(0, 2));
        assert.equal(await truncate(3_600_000), 0, 'nothing is an hour old');
        await new Promise((r) => setTimeout(r, 50));
        assert.equal(await truncate(0), 2, 'a0 and a1: acknowledged by both groups');
        await g2.ack(got2.slice(2, 4));
        assert.equal(await truncate(0), 2, 'a2 and a3 once g2 acknowledged them too');
        assert.equal(await truncate(0), 0, 'a4 and a5 are not acknowledged');
        // A topic no group reads keeps everything.
        const u = await s.subscribe('u', 'late');
        assert.deepEqual((await fetchN(u, 3)).map((m) => m.value), ['x0', 'x1', 'x2']);
        // Groups go on where they were, offsets keep growing, and a new group starts at the oldest kept.
        await s.publish('t', [{ key: 'k', value: 'a6' }]);
        await g.close();
        await g2.close();
        const again = await s.subscribe('t', 'g');
        const rest = await fetchN(again, 3);
        assert.deepEqual(rest.map((m) => m.value), ['a4', 'a5', 'a6']);
        assert.ok(compareOffsets(got[5]!.offset, rest[2]!.offset) < 0, 'offsets keep growing after truncation');
        const fresh = await s.subscribe('t', 'g3');
        assert.deepEqual((await fetchN(fresh, 3)).map((m) => m.value), ['a4', 'a5', 'a6']);
        await s.close();
      }));

    it('publishes 20,000 small messages in one call and delivers them all', () =>
      withHarness(async (h) => {
        const s = await h.open();
        const n = 20_000;
        const batch = Array.from({ length: n }, (_, i) => ({ key: `endpoint-${i % 50}`, value: `{"i":${i}}` }));
        await s.publish('t', batch);
        const sub = await s.subscribe('t', 'g');
        const got = await drainGroup([sub], n, 60_000);
        assert.equal(got.length, n);
        assert.equal(new Set(got.map((m) => m.value)).size, n);
        assert.equal(await sub.lag(), 0);
        await s.close();
      }));
  });
}

/** Subscribes, or returns undefined when the backend lets only one consumer read a group. */
async function subscribeOrRefused(s: Stream, topic: string, group: string): Promise<Subscription | undefined> {
  try {
    return await s.subscribe(topic, group);
  } catch {
    return undefined;
  }
}

/** Fetches and acknowledges from every subscription in turn until `n` messages came or `waitMs` passed. */
async function drainGroup(subs: (Subscription | undefined)[], n: number, waitMs: number): Promise<StreamMessage[]> {
  const got: StreamMessage[] = [];
  const until = Date.now() + waitMs;
  while (got.length < n && Date.now() < until) {
    for (const sub of subs) {
      if (!sub) continue;
      const batch = await sub.fetch(Math.min(5000, n), 20);
      got.push(...batch);
      if (batch.length > 0) await sub.ack(batch);
    }
  }
  return got;
}

/** Every `key:round` message arrived exactly once, and each key's rounds in order. */
function assertOnceInKeyOrder(got: StreamMessage[], keys: string[], rounds: number): void {
  const values = got.map((m) => m.value);
  assert.equal(new Set(values).size, values.length, 'no message delivered twice');
  assert.equal(values.length, keys.length * rounds, 'every message delivered');
  for (const key of keys) {
    const mine = got.filter((m) => m.key === key).map((m) => Number(m.value.split(':')[1]));
    assert.deepEqual(mine, Array.from({ length: rounds }, (_, i) => i), `order of ${key}`);
  }
}
