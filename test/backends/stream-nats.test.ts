import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it as nodeIt } from 'node:test';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers as natsHeaders } from '@nats-io/transport-node';
import { EventTooLargeError, ValidationError } from '../../src/common/errors.ts';
import { openStream } from '../../src/stream/connect.ts';
import { StreamUnavailableError } from '../../src/stream/errors.ts';
import type { ThreadClient } from '../../src/common/worker-thread.ts';
import { NatsStream, type NatsStreamOptions } from '../../src/stream/nats/nats-stream.ts';
import { partitionSubject, placeTopic } from '../../src/stream/nats/nats-names.ts';
import { BASE_HEADER, COUNT_HEADER, PACK_HEADER, PACK_VERSION } from '../../src/stream/nats/nats-pack.ts';
import { partitionFor } from '../../src/stream/partition.ts';
import { EventEncoder, type EventArgs } from '../../src/tracking/event.ts';
import { Tracker } from '../../src/tracking/tracker.ts';
import { fetchN, runStreamContract } from '../contract/stream.case.ts';
import { NATS_SERVER as SERVER, natsServerBinMissing, natsUnavailableReason, startNatsServer } from './nats.ts';

/**
 * NATS JetStream backend: the shared stream contract plus NATS specifics. Needs a JetStream server
 * at MODELWATCH_TEST_NATS (default 127.0.0.1:4222); without one the tests are skipped, except with
 * MODELWATCH_TEST_REQUIRE_SERVERS set (CI), where a missing server is a failure. Every test works in its own namespace and deletes its streams.
 */
const skip = await natsUnavailableReason();
const reachable = skip === undefined;
const FAST = { leaseTtlMs: 1500, heartbeatMs: 150, joinWaitMs: 60, tickMs: 50, pullExpiresMs: 1000 } satisfies Partial<NatsStreamOptions>;

const namespaces: string[] = [];
after(async () => {
  if (!reachable) return;
  const nc = await connect({ servers: SERVER });
  const jsm = await jetstreamManager(nc);
  for await (const name of jsm.streams.names()) {
    if (namespaces.some((ns) => name.startsWith(`MW_X_${ns}_`) || name.startsWith(`MWMETA_MW_X_${ns}_`))) await jsm.streams.delete(name);
  }
  await nc.close();
});

/** Opens handles on one fresh namespace. */
function harness(extra: Partial<NatsStreamOptions> = {}) {
  const ns = `t${randomUUID().replace(/-/g, '').slice(0, 10)}`;
  namespaces.push(ns);
  const open: NatsStream[] = [];
  return {
    ns,
    open: async (o: { owner?: string } & Partial<NatsStreamOptions> = {}) => {
      const { owner, ...rest } = o;
      const s = await NatsStream.connect({ url: `nats://${SERVER}?partitions=3`, namespace: ns, ...FAST, ...extra, ...rest, ...(owner ? { ownerId: owner } : {}) });
      open.push(s);
      return s;
    },
    cleanup: async () => {
      for (const s of open) await s.close();
    },
  };
}

runStreamContract('nats', async () => harness(), skip ? { skip } : {});

const it = (title: string, fn: () => Promise<void>): void => {
  nodeIt(title, skip ? { skip } : {}, fn);
};

describe('NatsStream', () => {
  it('numbers events per partition from 0 and packs a publish into few JetStream messages', async () => {
    const h = harness();
    try {
      const s = await h.open();
      const batch = Array.from({ length: 3000 }, (_, i) => ({ key: `endpoint-${i % 7}`, value: String(i) }));
      await s.publish('mw.demo.events', batch);
      const sub = await s.subscribe('mw.demo.events', 'g');
      const got = await fetchN(sub, 3000, 5000);
      assert.equal(got.length, 3000);
      for (let p = 0; p < 3; p++) {
        const offsets = got.filter((m) => m.partition === p).map((m) => Number(m.offset));
        assert.deepEqual(offsets, offsets.map((_, i) => i), `partition ${p} offsets`);
      }
      assert.ok(got.every((m) => m.partition === partitionFor(m.key, 3)));
      const nc = await connect({ servers: SERVER });
      const info = await (await jetstreamManager(nc)).streams.info(s.streamsOf('mw.demo.events').data);
      assert.ok(info.state.messages <= 6, `3000 events in ${info.state.messages} JetStream messages`);
      await nc.close();
    } finally {
      await h.cleanup();
    }
  });

  /** The handle's packing thread, with a count of the batches it packed. */
  const packerOf = (s: NatsStream): { thread: ThreadClient<unknown, unknown>; packed: () => number } => {
    const thread = (s as unknown as { packer: ThreadClient<unknown, unknown> }).packer;
    let n = 0;
    const request = thread.request.bind(thread);
    thread.request = (body, transfer) => {
      n += 1;
      return request(body, transfer);
    };
    return { thread, packed: () => n };
  };

  for (const where of ['on its packing thread', 'on the event loop'] as const) {
    it(`publishes requests a tracker kept as numbers exactly as their encoded events, in order, in few packs (packed ${where})`, async () => {
      const h = harness({ maxPackEvents: 150, packThread: where === 'on its packing thread' });
      try {
        const s = await h.open();
        assert.equal(await s.packThreadStarted(), where === 'on its packing thread');
        const packer = where === 'on its packing thread' ? packerOf(s) : undefined;
        let batches = 0;
        const publishEvents = s.publishEvents.bind(s);
        s.publishEvents = (topic, batch) => {
          batches += 1;
          return publishEvents(topic, batch);
        };
        const encoders = Array.from({ length: 5 }, (_, e) => new EventEncoder({ endpointId: `ep${e}`, project: 'p', function: 'f', model: 'm', tag: 'v1', featureNames: ['a', 'b'] }));
        const tracker = new Tracker({ stream: s, topic: 'mw.p.events' });
        const texts: { key: string; value: string }[] = [];
        const track = (e: number, args: EventArgs) => {
          tracker.trackRequest(encoders[e]!, args);
          texts.push({ key: `ep${e}`, value: encoders[e]!.encode(args) });
        };
        for (let i = 0; i < 1200; i++) {
          track(i % 5, { start: { ns: 0n, ms: 1_790_000_000_000 + i * 0.5 }, latencyUs: 100 + i, requestId: `r-${i}`, inputs: [[i / 8, -i]], outputs: [i % 2] });
        }
        await tracker.flush();
        // A request id past U+00FF, and an error event (text) in the next batch.
        track(1, { start: { ns: 0n, ms: 1_790_000_001_000 }, latencyUs: 7, requestId: 'id-\u4e2d-✓', inputs: [[1.5, 2]], outputs: [1] });
        track(2, { start: { ns: 0n, ms: 1_790_000_001_001 }, latencyUs: 8, requestId: 'bad', inputs: [[1, 2]], error: 'model failed' });
        await tracker.close();
        assert.ok(batches >= 2, `${batches} calls of publishEvents`);
        if (packer) assert.equal(packer.packed(), batches, 'every batch was packed on the thread');

        const sub = await s.subscribe('mw.p.events', 'g');
        const got = await fetchN(sub, texts.length, 5000);
        assert.equal(got.length, texts.length);
        assert.deepEqual(await sub.fetch(1, 200), [], 'nothing more');
        for (let p = 0; p < 3; p++) {
          const expected = texts.filter((t) => partitionFor(t.key, 3) === p);
          assert.deepEqual(
            got.filter((m) => m.partition === p).map((m) => ({ key: m.key, value: m.value })),
            expected,
            `partition ${p}`,
          );
        }
        const nc = await connect({ servers: SERVER });
        const info = await (await jetstreamManager(nc)).streams.info(s.streamsOf('mw.p.events').data);
        // Each publish of the tracker's is at most one pack per partition of at most 150 events.
        const packs = info.state.messages;
        assert.ok(packs < texts.length / 10 && packs <= 3 * batches + Math.ceil(texts.length / 150), `${texts.length} events of ${batches} publishes in ${packs} JetStream messages`);
        await nc.close();
      } finally {
        await h.cleanup();
      }
    });
  }

  it('packs tracked events on the event loop once its packing thread has died, and loses none of them', async () => {
    const h = harness();
    try {
      const s = await h.open();
      assert.equal(await s.packThreadStarted(), true);
      const packer = packerOf(s);
      const encoder = new EventEncoder({ endpointId: 'ep', project: 'p', function: 'f', model: 'm', tag: 'v1', featureNames: ['a'] });
      const tracker = new Tracker({ stream: s, topic: 'mw.p.events', retryInitialMs: 10, retryMaxMs: 50 });
      const texts: string[] = [];
      const track = (i: number) => {
        const args: EventArgs = { start: { ns: 0n, ms: 1_790_000_000_000 + i }, latencyUs: i, requestId: `r-${i}`, inputs: [[i]], outputs: [i * 2] };
        tracker.trackRequest(encoder, args);
        texts.push(encoder.encode(args));
      };
      for (let i = 0; i < 300; i++) track(i);
      await tracker.flush();
      assert.ok(packer.packed() > 0);
      await packer.thread.kill();
      for (let i = 300; i < 600; i++) track(i);
      await tracker.close();
      assert.equal(tracker.stats().dropped, 0);
      assert.equal(packer.thread.ready, false, 'the thread is no longer running');
      const sub = await s.subscribe('mw.p.events', 'g');
      const got = await fetchN(sub, texts.length, 5000);
      assert.deepEqual(
        got.map((m) => m.value),
        texts,
      );
    } finally {
      await h.cleanup();
    }
  });

  it("refuses a message larger than the server's max_payload takes, publishing the other messages of the call, and says which (EventTooLargeError)", async () => {
    const h = harness();
    try {
      const s = await h.open();
      const nc = await connect({ servers: SERVER });
      const maxPayload = nc.info!.max_payload;
      await nc.close();
      assert.equal(s.maxEventBytes, maxPayload - 2048);
      // An event of maxEventBytes is published (its pack of one fits); one of max_payload cannot be.
      const fits = 'a'.repeat(s.maxEventBytes);
      const huge = 'h'.repeat(maxPayload);
      const messages = [
        { key: 'k1', value: 'first' },
        { key: 'k1', value: huge },
        { key: 'k2', value: fits },
        { key: 'k1', value: 'last' },
        { key: 'k3', value: `${huge}!` },
      ];
      await assert.rejects(s.publish('t', messages), (err: unknown) => err instanceof EventTooLargeError && err.code === 'event_too_large' && JSON.stringify(err.indexes) === '[1,4]');
      const sub = await s.subscribe('t', 'g');
      const got = await fetchN(sub, 3, 5000);
      assert.deepEqual(
        got.map((m) => m.value).sort(),
        ['first', fits, 'last'].sort(),
      );
      assert.deepEqual(await sub.fetch(1, 200), [], 'nothing more');
    } finally {
      await h.cleanup();
    }
  });

  it('a tracker drops the events the server refuses as too large, once told per endpoint, and publishes every other event at once', async () => {
    const h = harness();
    try {
      const s = await h.open();
      const told: string[] = [];
      const tracker = new Tracker({ stream: s, topic: 'mw.p.events', onError: (err) => told.push(String(err)) });
      const encoder = new EventEncoder({ endpointId: 'ep', project: 'p', function: 'f', model: 'm', featureNames: ['a'] });
      // Events encoded by the caller are not split by the tracker: these are larger than the server takes.
      const huge = encoder.encode({ start: { ns: 0n, ms: 1_790_000_000_000 }, latencyUs: 1, requestId: 'huge', inputs: [['x'.repeat(1_100_000)]], outputs: [1] });
      const texts: string[] = [];
      for (let i = 0; i < 300; i++) {
        if (i % 100 === 0) tracker.trackEncoded('ep', false, () => huge);
        const args: EventArgs = { start: { ns: 0n, ms: 1_790_000_000_000 + i }, latencyUs: i, requestId: `r-${i}`, inputs: [[i]], outputs: [i * 2] };
        tracker.trackRequest(encoder, args);
        texts.push(encoder.encode(args));
      }
      const started = Date.now();
      await tracker.flush();
      assert.ok(Date.now() - started < 5000, `flushed in ${Date.now() - started} ms`);
      assert.deepEqual(tracker.stats(), { sent: 300, dropped: 3, failed: 0, sampledOut: 0, queued: 0 });
      assert.equal(told.length, 1, told.join('\n'));
      assert.match(told[0]!, /endpoint ep: events dropped: the stream takes no event this large: a stream message larger than the NATS server's max_payload/);
      const sub = await s.subscribe('mw.p.events', 'g');
      const got = await fetchN(sub, texts.length, 5000);
      assert.deepEqual(got.map((m) => m.value).sort(), [...texts].sort());
      assert.deepEqual(await sub.fetch(1, 200), [], 'nothing more');
      await tracker.close();
    } finally {
      await h.cleanup();
    }
  });

  it("keeps each partition's last message in retention, so that offsets go on after everything was acknowledged", async () => {
    const h = harness();
    try {
      const s = await h.open();
      for (let i = 0; i < 4; i++) await s.publish('t', [{ key: 'k', value: `a${i}` }]);
      const sub = await s.subscribe('t', 'g');
      const got = await fetchN(sub, 4);
      await sub.ack(got);
      await sub.close();
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(await s.truncate({ olderThanMs: 0 }), 3, 'all but the last message');
      const nc = await connect({ servers: SERVER });
      const jsm = await jetstreamManager(nc);
      assert.equal((await jsm.streams.info(s.streamsOf('t').data)).state.messages, 1);
      // A new producer takes the partition's next offset from the message kept.
      const producer = await h.open();
      await producer.publish('t', [{ key: 'k', value: 'a4' }]);
      const again = await s.subscribe('t', 'g');
      const next = await fetchN(again, 1);
      assert.deepEqual(next.map((m) => [m.value, m.offset]), [['a4', String(Number(got[3]!.offset) + 1)]]);
      await again.ack(next);
      await again.close();
      // A group record written before records named their topic protects its partition of every topic.
      const records = s.streamsOf('t').records;
      const subjects = Object.keys((await jsm.streams.info(records, { subjects_filter: '>' })).state.subjects ?? {});
      assert.equal(subjects.length, 3, 'one record per partition');
      const own = subjects.find((x) => x.endsWith(`.p${next[0]!.partition}`))!;
      const stored = (await jsm.streams.getMessage(records, { last_by_subj: own }))!.json<Record<string, unknown>>();
      assert.equal(stored.topic, 't');
      const { topic: _, ...unnamed } = stored;
      await producer.publish('t', [{ key: 'k', value: 'a5' }]);
      await jetstream(nc).publish(`_mwmeta.${s.streamsOf('t').data}.legacy_00000000.p${next[0]!.partition}`, JSON.stringify({ ...unnamed, seq: 1 }));
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(await s.truncate({ olderThanMs: 0 }), 0, 'the legacy record has read nothing yet');
      await nc.close();
    } finally {
      await h.cleanup();
    }
  });

  it('truncates in the background when opened with a retention', async () => {
    const h = harness({ retention: { keepMs: 0, intervalMs: 50 } });
    try {
      const s = await h.open();
      for (let i = 0; i < 5; i++) await s.publish('t', [{ key: 'k', value: `a${i}` }]);
      const sub = await s.subscribe('t', 'g');
      await sub.ack(await fetchN(sub, 5));
      const nc = await connect({ servers: SERVER });
      const jsm = await jetstreamManager(nc);
      const stored = async () => (await jsm.streams.info(s.streamsOf('t').data)).state.messages;
      const until = Date.now() + 5000;
      while ((await stored()) > 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      assert.equal(await stored(), 1, 'all but the last message went');
      await nc.close();
    } finally {
      await h.cleanup();
    }
  });

  it('keeps offsets gap-free when two producers write the same partition at once', async () => {
    const h = harness();
    try {
      const [p1, p2, c] = await Promise.all([h.open(), h.open(), h.open()]);
      const calls: Promise<void>[] = [];
      for (let i = 0; i < 40; i++) {
        const who = i % 2 === 0 ? p1 : p2;
        calls.push(who.publish('t', Array.from({ length: 25 }, (_, j) => ({ key: 'same', value: `${i}:${j}` }))));
      }
      await Promise.all(calls);
      const sub = await c.subscribe('t', 'g');
      const got = await fetchN(sub, 1000, 5000);
      assert.equal(got.length, 1000);
      assert.deepEqual(got.map((m) => Number(m.offset)), got.map((_, i) => i));
      assert.equal(new Set(got.map((m) => m.value)).size, 1000);
      for (let i = 0; i < 40; i++) {
        const js = got.filter((m) => m.value.startsWith(`${i}:`)).map((m) => Number(m.value.split(':')[1]));
        assert.deepEqual(js, Array.from({ length: 25 }, (_, j) => j), `call ${i} stays in order`);
      }
    } finally {
      await h.cleanup();
    }
  });

  it('shares partitions between live members and takes them all back when one leaves', async () => {
    const h = harness();
    try {
      const a = await h.open({ owner: 'a' });
      const b = await h.open({ owner: 'b' });
      const subA = (await a.subscribe('t', 'g')) as unknown as { ownedPartitions(): number[] };
      const subB = (await b.subscribe('t', 'g')) as unknown as { ownedPartitions(): number[]; close(): Promise<void> };
      await waitFor(() => subA.ownedPartitions().length === 2 && subB.ownedPartitions().length === 1, 5000);
      assert.deepEqual(subA.ownedPartitions(), [0, 2]);
      assert.deepEqual(subB.ownedPartitions(), [1]);
      await subB.close();
      await waitFor(() => subA.ownedPartitions().length === 3, 5000);
    } finally {
      await h.cleanup();
    }
  });

  it("takes over a crashed member's partitions after its lease and redelivers what it had not acknowledged", async () => {
    const h = harness();
    try {
      const crashed = await h.open({ owner: 'crashed' });
      await crashed.publish('t', Array.from({ length: 30 }, (_, i) => ({ key: `k${i % 3}`, value: String(i) })));
      const sub = await crashed.subscribe('t', 'g');
      const first = await fetchN(sub, 30, 3000);
      assert.equal(first.length, 30);
      await sub.ack(first.filter((m) => Number(m.value) < 9));
      // A crash: the process stops heartbeating and renewing without releasing anything.
      (crashed as unknown as { link: { nc: { close(): Promise<void> } } }).link.nc.close().catch(() => undefined);
      const survivor = await h.open({ owner: 'survivor' });
      const started = Date.now();
      const sub2 = await survivor.subscribe('t', 'g');
      const again = await fetchN(sub2, 21, 10_000);
      assert.deepEqual(again.map((m) => Number(m.value)).sort((x, y) => x - y), Array.from({ length: 21 }, (_, i) => i + 9));
      assert.ok(Date.now() - started >= FAST.leaseTtlMs * 0.9, 'waited for the lease to lapse');
    } finally {
      await h.cleanup();
    }
  });

  it('gives a partition to a new member only after its handed-out messages are acknowledged', async () => {
    const h = harness();
    try {
      const a = await h.open({ owner: 'a' });
      const b = await h.open({ owner: 'b' });
      const keys = Array.from({ length: 9 }, (_, i) => `key-${i}`);
      await a.publish('t', keys.map((key) => ({ key, value: `${key}:0` })));
      const subA = (await a.subscribe('t', 'g')) as Awaited<ReturnType<NatsStream['subscribe']>> & { ownedPartitions(): number[] };
      const held = await fetchN(subA, 9, 3000);
      assert.equal(held.length, 9);
      const subB = (await b.subscribe('t', 'g')) as typeof subA;
      await new Promise((r) => setTimeout(r, 400));
      assert.deepEqual(subB.ownedPartitions(), [], 'nothing moves while a holds un-acknowledged messages');
      assert.deepEqual(await subB.fetch(10, 100), []);
      await subA.ack(held);
      await waitFor(() => subB.ownedPartitions().length === 1, 5000);
      await b.publish('t', keys.map((key) => ({ key, value: `${key}:1` })));
      const fromA = await fetchN(subA, 9, 600);
      const fromB = await fetchN(subB, 9, 600);
      assert.equal(fromA.length + fromB.length, 9);
      assert.ok(fromB.length > 0 && fromB.every((m) => m.partition === subB.ownedPartitions()[0]));
      assert.ok([...fromA, ...fromB].every((m) => m.value.endsWith(':1')), 'acknowledged messages do not come again');
    } finally {
      await h.cleanup();
    }
  });

  it('lets a restarted member with the same owner id take its partitions back at once', async () => {
    const h = harness({ leaseTtlMs: 10_000 });
    try {
      const first = await h.open({ owner: 'worker-1' });
      await first.publish('t', Array.from({ length: 6 }, (_, i) => ({ key: 'k', value: String(i) })));
      const sub = await first.subscribe('t', 'g');
      await sub.ack((await fetchN(sub, 6, 3000)).slice(0, 2));
      (first as unknown as { link: { nc: { close(): Promise<void> } } }).link.nc.close().catch(() => undefined);
      const restarted = await h.open({ owner: 'worker-1' });
      const started = Date.now();
      const again = await fetchN(await restarted.subscribe('t', 'g'), 4, 3000);
      assert.deepEqual(again.map((m) => m.value), ['2', '3', '4', '5']);
      assert.ok(Date.now() - started < 5000, 'no wait for the 10 s lease');
    } finally {
      await h.cleanup();
    }
  });

  const noServerBin = natsServerBinMissing();
  nodeIt('rides out a server restart: publishes retry, the member keeps its partitions and loses nothing', { skip: skip ?? noServerBin ?? false }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-nats-'));
    const port = 14_000 + Math.floor(Math.random() * 1000);
    let server = await startNatsServer(port, dir);
    const opts = { url: `nats://127.0.0.1:${port}?partitions=2`, leaseTtlMs: 4000, heartbeatMs: 200, joinWaitMs: 50, tickMs: 50, pullExpiresMs: 1000 };
    const producer = await NatsStream.connect(opts);
    const consumer = await NatsStream.connect(opts);
    try {
      const batch = (from: number) => Array.from({ length: 50 }, (_, i) => ({ key: `k${(from + i) % 5}`, value: String(from + i) }));
      await producer.publish('t', batch(0));
      const sub = await consumer.subscribe('t', 'g');
      const first = await fetchN(sub, 50, 3000);
      await sub.ack(first);
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
      const publishing = producer.publish('t', batch(50));
      await new Promise((r) => setTimeout(r, 500));
      server = await startNatsServer(port, dir);
      await publishing;
      const rest = await fetchN(sub, 50, 10_000);
      await sub.ack(rest);
      const values = [...first, ...rest].map((m) => Number(m.value));
      assert.deepEqual([...values].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i));
      assert.equal(await sub.lag(), 0);
    } finally {
      await producer.close();
      await consumer.close();
      server.kill('SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('skips, with a warning, a message of its own whose body cannot be read, and reads on past it', async () => {
    const warnings: string[] = [];
    const h = harness({ logger: { warn: (_o, msg) => warnings.push(msg) } });
    try {
      const s = await h.open();
      await s.publish('t', [{ key: 'k', value: 'a0' }, { key: 'k', value: 'a1' }]);
      // A message in the partition's subject whose headers say two events at offsets 2 and 3, and whose body is broken.
      const nc = await connect({ servers: SERVER });
      const hdrs = natsHeaders();
      hdrs.set(PACK_HEADER, PACK_VERSION);
      hdrs.set(BASE_HEADER, '2');
      hdrs.set(COUNT_HEADER, '2');
      await jetstream(nc).publish(partitionSubject(placeTopic('t', h.ns), partitionFor('k', 3)), new TextEncoder().encode('not a pack'), { headers: hdrs });
      await nc.close();
      await s.publish('t', [{ key: 'k', value: 'a4' }]);
      const sub = await s.subscribe('t', 'g');
      const got = await fetchN(sub, 3, 5000);
      assert.deepEqual(
        got.map((m) => [m.offset, m.value]),
        [
          ['0', 'a0'],
          ['1', 'a1'],
          ['4', 'a4'],
        ],
      );
      assert.ok(warnings.some((w) => /body cannot be read/.test(w)), warnings.join('; '));
      await sub.ack(got);
    } finally {
      await h.cleanup();
    }
  });

  it('records the partition count on the stream and refuses a different one', async () => {
    const h = harness();
    try {
      const s = await h.open();
      assert.equal(await s.partitionsOf('mw.p1.events'), 3);
      const other = await h.open({ partitions: 5 });
      await assert.rejects(other.partitionsOf('mw.p1.events'), ValidationError);
      assert.equal(await other.partitionsOf('other.topic'), 5, 'a new stream takes the asked count');
    } finally {
      await h.cleanup();
    }
  });

  it('is opened by openStream from a nats:// URL and reports an unreachable server', async () => {
    const ns = `t${randomUUID().replace(/-/g, '').slice(0, 10)}`;
    namespaces.push(ns);
    const s = await openStream(`nats://${SERVER}?partitions=2&namespace=${ns}`, { home: '/nonexistent' });
    assert.ok(s instanceof NatsStream);
    assert.equal(await s.partitionsOf('t'), 2);
    await s.close();
    await assert.rejects(openStream('nats://127.0.0.1:1', { home: '/nonexistent', nats: { connectTimeoutMs: 500 } }), StreamUnavailableError);
    await assert.rejects(openStream('nats://127.0.0.1:4222?bogus=1', { home: '/nonexistent' }), ValidationError);
  });

  it('publish throughput (printed, not asserted): 50,000 events', async () => {
    const h = harness();
    try {
      const s = await h.open({ partitions: 8 });
      await s.publish('mw.bench.events', [{ key: 'warm', value: 'up' }]);
      const event = JSON.stringify({ project: 'bench', endpointId: 'x'.repeat(40), when: new Date().toISOString(), request: { id: 'r', inputs: [[1.5, 2.25, 3, 4]] }, response: { outputs: [0.5] }, latencyUs: 1200 });
      const n = 50_000;
      const events = Array.from({ length: n }, (_, i) => ({ key: `endpoint-${i % 20}`, value: event }));
      let t0 = performance.now();
      await s.publish('mw.bench.events', events);
      const oneCall = n / ((performance.now() - t0) / 1000);
      t0 = performance.now();
      const calls: Promise<void>[] = [];
      for (let i = 0; i < n; i += 500) calls.push(s.publish('mw.bench.events', events.slice(i, i + 500)));
      await Promise.all(calls);
      const concurrent = n / ((performance.now() - t0) / 1000);
      t0 = performance.now();
      for (let i = 0; i < n; i += 1000) await s.publish('mw.bench.events', events.slice(i, i + 1000));
      const sequential = n / ((performance.now() - t0) / 1000);
      const sub = await s.subscribe('mw.bench.events', 'bench');
      t0 = performance.now();
      let read = 0;
      while (read < 3 * n + 1) {
        const got = await sub.fetch(2000, 1000);
        if (got.length === 0) break;
        read += got.length;
        await sub.ack(got);
      }
      const consume = read / ((performance.now() - t0) / 1000);
      console.log(
        `NATS publish throughput, ${n} events of ${event.length} bytes: one call ${Math.round(oneCall)}/s, ` +
          `100 concurrent calls of 500 ${Math.round(concurrent)}/s, 50 sequential calls of 1000 ${Math.round(sequential)}/s; ` +
          `consume+ack ${Math.round(consume)}/s (${read} events)`,
      );
      assert.equal(read, 3 * n + 1);
    } finally {
      await h.cleanup();
    }
  });
});

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
