import assert from 'node:assert/strict';
import { after, before, describe, it, mock } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { TrackingUnavailableError, ValidationError } from '../common/errors.ts';
import type { InferenceEvent } from '../common/types.ts';
import { MemoryStream } from '../stream/memory-stream.ts';
import type { OutgoingMessage } from '../stream/port.ts';
import { decodeEventBatch, type EventBatch, type NumericEventStore } from './event-batch.ts';
import { EventEncoder, type EventArgs } from './event.ts';
import { seededRandom } from './seeded-random.ts';
import { Tracker } from './tracker.ts';

const unhandled: unknown[] = [];
const onUnhandled = (err: unknown) => unhandled.push(err);
before(() => process.on('unhandledRejection', onUnhandled));
after(() => {
  process.off('unhandledRejection', onUnhandled);
  assert.deepEqual(unhandled, [], 'the background loop must never leave an unhandled rejection');
});

function event(i: number, extra: Partial<InferenceEvent> = {}): InferenceEvent {
  return {
    v: 1,
    endpointId: `ep${i % 3}`,
    project: 'p',
    function: 'f',
    model: 'm',
    when: '2026-01-01T00:00:00.000000Z',
    latencyUs: 10,
    request: { id: `r${i}`, inputs: [[i]] },
    response: { outputs: [i] },
    ...extra,
  };
}

const ids = (s: MemoryStream, topic = 't') => s.messages(topic).map((m) => (JSON.parse(m.value) as InferenceEvent).request.id);

/** Requests a tracker holds as numbers. */
const heldBy = (t: Tracker): number => (t as unknown as { numbers: NumericEventStore }).numbers.held;

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}

describe('Tracker', () => {
  it('publishes events keyed by endpoint id with the event JSON as value', async () => {
    const stream = new MemoryStream({ partitions: 2 });
    const tracker = new Tracker({ stream, topic: 't', onError: () => undefined });
    for (let i = 0; i < 5; i++) tracker.track(event(i));
    await tracker.flush();
    const msgs = stream.messages('t');
    assert.equal(msgs.length, 5);
    assert.equal(msgs[0]!.key, 'ep0');
    assert.deepEqual(JSON.parse(msgs[1]!.value), event(1));
    assert.deepEqual(tracker.stats(), { sent: 5, dropped: 0, failed: 0, sampledOut: 0, queued: 0 });
  });

  it('sizes slices by their usual cost: one slow slice (a GC pause, say) does not shrink the ones after it to a few events', async () => {
    const stream = new MemoryStream();
    const publish = stream.publish.bind(stream);
    const sizes: number[] = [];
    let spikeAt = -1;
    const busy = (ms: number) => {
      const end = performance.now() + ms;
      while (performance.now() < end);
    };
    // 5 µs of synchronous work per event (about 100 events fit a slice), and once 50 ms on top.
    stream.publish = (topic, messages) => {
      sizes.push(messages.length);
      busy(messages.length * 0.005 + (sizes.length - 1 === spikeAt ? 50 : 0));
      return publish(topic, messages);
    };
    const tracker = new Tracker({ stream, topic: 't', batchSize: 5000, flushIntervalMs: 1, onError: () => undefined });
    // Warmed up first: the first slices pay for compiling the code.
    for (let i = 0; i < 5000; i++) tracker.track(event(i));
    await tracker.flush();
    spikeAt = sizes.length + 5;
    for (let i = 0; i < 5000; i++) tracker.track(event(i));
    await tracker.flush();
    await tracker.close();
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    const before = median(sizes.slice(spikeAt - 4, spikeAt + 1));
    const afterSpike = median(sizes.slice(spikeAt + 1, spikeAt + 6));
    assert.ok(sizes.length > spikeAt + 6, `slices: ${sizes.join(',')}`);
    assert.ok(afterSpike >= before / 2, `the slices after the slow one keep at least half the size of those before it: ${sizes.join(',')}`);
  });

  it('sends in batches of batchSize, and a partial batch on its own after flushIntervalMs', async () => {
    const stream = new MemoryStream();
    const tracker = new Tracker({ stream, topic: 't', batchSize: 4, flushIntervalMs: 250 });
    const t0 = Date.now();
    for (let i = 0; i < 9; i++) tracker.track(event(i));
    assert.equal(stream.publishCalls, 0, 'track never publishes inline');
    await until(() => tracker.stats().sent === 8);
    // Full batches go at once; the partial one waits for the interval.
    if (Date.now() - t0 < 200) assert.equal(stream.publishCalls, 2);
    await until(() => tracker.stats().sent === 9);
    assert.equal(stream.publishCalls, 3);
    assert.deepEqual(ids(stream), Array.from({ length: 9 }, (_, i) => `r${i}`));
    await tracker.close();
  });

  it('routes events by a topic function', async () => {
    const stream = new MemoryStream();
    const tracker = new Tracker({ stream, topic: (e) => `events.${e.endpointId}` });
    for (let i = 0; i < 9; i++) tracker.track(event(i));
    await tracker.flush();
    assert.deepEqual(ids(stream, 'events.ep0'), ['r0', 'r3', 'r6']);
    assert.deepEqual(ids(stream, 'events.ep2'), ['r2', 'r5', 'r8']);
  });

  it('samples successful predictions at the given percentage and never samples out errors', async () => {
    const stream = new MemoryStream();
    const tracker = new Tracker({ stream, topic: 't', samplingPercentage: 30, random: seededRandom(42), maxQueue: 20_000 });
    for (let i = 0; i < 10_000; i++) tracker.track(event(i));
    for (let i = 0; i < 100; i++) tracker.track(event(i, { error: 'boom', response: undefined }));
    await tracker.flush();
    const s = tracker.stats();
    const errorsSent = stream.messages('t').filter((m) => (JSON.parse(m.value) as InferenceEvent).error === 'boom').length;
    assert.equal(errorsSent, 100);
    const okSent = s.sent - 100;
    assert.equal(okSent + s.sampledOut, 10_000);
    assert.ok(Math.abs(okSent - 3000) <= 150, `sent ${okSent} of 10000 at 30%`);

    const none = new Tracker({ stream, topic: 'zero', samplingPercentage: 0 });
    none.track(event(1));
    none.track(event(2, { error: 'x' }));
    await none.flush();
    assert.deepEqual(none.stats(), { sent: 1, dropped: 0, failed: 0, sampledOut: 1, queued: 0 });
  });

  it('validates its options', () => {
    const stream = new MemoryStream();
    for (const samplingPercentage of [-1, 101, Number.NaN]) {
      assert.throws(() => new Tracker({ stream, topic: 't', samplingPercentage }), ValidationError);
    }
    assert.throws(() => new Tracker({ stream, topic: 't', maxQueue: 0 }), /maxQueue must be a whole number >= 1/);
    assert.throws(() => new Tracker({ stream, topic: '' }), /topic must be/);
  });

  it('retries a failed publish with the batch kept at the head, in order', async () => {
    const stream = new MemoryStream();
    let failures = 3;
    stream.beforePublish = () => {
      if (failures-- > 0) throw new Error('stream down');
    };
    const errors: unknown[] = [];
    const tracker = new Tracker({ stream, topic: 't', batchSize: 5, flushIntervalMs: 1, retryInitialMs: 5, onError: (e) => errors.push(e) });
    for (let i = 0; i < 12; i++) tracker.track(event(i));
    await until(() => tracker.stats().sent === 12);
    assert.deepEqual(ids(stream), Array.from({ length: 12 }, (_, i) => `r${i}`));
    assert.equal(tracker.stats().failed, 3);
    assert.equal(errors.length, 3);
    assert.match(String(errors[0]), /stream down/);
  });

  it('flush rejects while the stream is down and keeps the events', async () => {
    const stream = new MemoryStream();
    stream.beforePublish = () => {
      throw new Error('stream down');
    };
    const tracker = new Tracker({ stream, topic: 't', onError: () => undefined, retryInitialMs: 10_000 });
    tracker.track(event(1));
    await assert.rejects(tracker.flush(), /stream down/);
    assert.equal(tracker.stats().queued, 1);
    stream.beforePublish = undefined;
    await tracker.flush();
    assert.deepEqual(tracker.stats(), { sent: 1, dropped: 0, failed: 1, sampledOut: 0, queued: 0 });
  });

  it('bounds the queue when publish hangs, dropping the oldest and counting them, without blocking track', async () => {
    const stream = new MemoryStream();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    stream.beforePublish = () => gate;
    const tracker = new Tracker({ stream, topic: 't', maxQueue: 100, batchSize: 10, flushIntervalMs: 1, publishTimeoutMs: 60_000 });
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) tracker.track(event(i));
    const ms1 = performance.now() - t0;
    await until(() => stream.publishCalls === 1); // the first batch is now stuck in publish
    const t1 = performance.now();
    for (let i = 1000; i < 11_000; i++) tracker.track(event(i));
    const ms = ms1 + performance.now() - t1;
    assert.ok(ms < 500, `11k track calls took ${ms} ms`);
    const s = tracker.stats();
    assert.equal(s.queued, 100);
    assert.equal(s.dropped, 10_900);
    assert.equal(s.sent, 0);

    release();
    await tracker.flush();
    const sent = ids(stream);
    assert.equal(sent.length, 100);
    // The batch that was in flight (the oldest survivors of the first burst) went out, then the newest 90.
    assert.deepEqual(sent.slice(0, 10), Array.from({ length: 10 }, (_, i) => `r${900 + i}`));
    assert.deepEqual(sent.slice(10), Array.from({ length: 90 }, (_, i) => `r${10_910 + i}`));
    assert.deepEqual(tracker.stats(), { sent: 100, dropped: 10_900, failed: 0, sampledOut: 0, queued: 0 });
  });

  it('does not publish again what a publish that timed out may still store: sent once it goes through, retried once it fails', async () => {
    for (const outcome of ['goes through', 'fails'] as const) {
      const stream = new MemoryStream();
      let settle: { resolve: () => void; reject: (e: Error) => void } | undefined;
      stream.beforePublish = () =>
        stream.publishCalls === 1 ? new Promise<void>((resolve, reject) => (settle = { resolve, reject })) : undefined;
      const tracker = new Tracker({ stream, topic: 't', flushIntervalMs: 1, publishTimeoutMs: 20, retryInitialMs: 5, retryMaxMs: 20, onError: () => undefined });
      tracker.track(event(1));
      await until(() => tracker.stats().failed >= 1);
      // Events tracked meanwhile go out; the one in doubt is held, not published again.
      for (let i = 2; i <= 4; i++) tracker.track(event(i));
      await until(() => tracker.stats().sent === 3);
      await sleep(50);
      assert.deepEqual(ids(stream), ['r2', 'r3', 'r4'], outcome);
      assert.equal(tracker.stats().queued, 1, 'the event in doubt is still held');
      if (outcome === 'goes through') settle!.resolve();
      else settle!.reject(new Error('stream gave up'));
      await until(() => tracker.stats().sent === 4);
      assert.deepEqual([...ids(stream)].sort(), ['r1', 'r2', 'r3', 'r4'], `${outcome}: each event stored once`);
      assert.deepEqual(tracker.stats(), { sent: 4, dropped: 0, failed: 1, sampledOut: 0, queued: 0 });
      await tracker.close();
    }
  });

  it('publishes promptly once the stream is back after a long outage, probing with one event while it is down', async () => {
    // Mocked timers: a 30 s outage then recovery, in 100 ms steps of tracked traffic.
    mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    try {
      const stream = new MemoryStream();
      let down = false;
      const sizesWhileDown: number[] = [];
      stream.beforePublish = (_topic, messages) => {
        if (!down) return;
        sizesWhileDown.push(messages.length);
        throw new Error('stream down');
      };
      // Default retry delays; the queue holds 2 s of traffic.
      const tracker = new Tracker({ stream, topic: 't', maxQueue: 200, batchSize: 50, flushIntervalMs: 10, onError: () => undefined });
      let tracked = 0;
      const step = async (): Promise<void> => {
        for (let i = 0; i < 10; i++) tracker.track(event(tracked++));
        mock.timers.tick(100);
        for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
      };
      for (let k = 0; k < 10; k++) await step();
      assert.equal(tracker.stats().sent, 100);

      down = true;
      for (let k = 0; k < 300; k++) await step();
      const whileDown = tracker.stats();
      assert.equal(whileDown.queued, 200, 'the queue stays bounded while the stream is down');
      assert.equal(whileDown.sent + whileDown.dropped + whileDown.queued, tracked);
      assert.ok(sizesWhileDown.length >= 20, `${sizesWhileDown.length} retries in 30 s: the retry delay is capped near 1 s`);
      assert.ok(sizesWhileDown.slice(1).every((n) => n === 1), `retries probe with one event (${sizesWhileDown.join(',')})`);

      down = false;
      const firstAfter = tracked;
      // Within 1.5 s of recovery (the queue holds 2 s), every event tracked since then is sent.
      for (let k = 0; k < 15; k++) await step();
      const sentIds = new Set(ids(stream));
      const lost = Array.from({ length: tracked - firstAfter }, (_, i) => `r${firstAfter + i}`).filter((id) => !sentIds.has(id));
      assert.deepEqual(lost, [], 'no event tracked after the stream came back is dropped or left waiting');
      const s = tracker.stats();
      assert.equal(s.queued, 0);
      // Until the next retry (at most 1 s away) events tracked during the outage still make room.
      assert.ok(s.dropped - whileDown.dropped <= 100, `${s.dropped - whileDown.dropped} dropped after recovery`);
      assert.equal(s.sent + s.dropped + s.queued, tracked);
      assert.equal(sentIds.size, s.sent, 'every event published once');
    } finally {
      mock.timers.reset();
    }
  });

  it('drops what it cannot serialize and keeps going', async () => {
    const stream = new MemoryStream();
    const errors: string[] = [];
    const tracker = new Tracker({ stream, topic: 't', onError: (e) => errors.push(String(e)) });
    tracker.track(event(1, { request: { id: 'big', inputs: [[10n]] } }));
    tracker.track(event(2));
    tracker.track(null as unknown as InferenceEvent);
    await tracker.flush();
    assert.deepEqual(ids(stream), ['r2']);
    assert.equal(tracker.stats().dropped, 2);
    assert.match(errors.join('\n'), /event of endpoint ep1 dropped: .*BigInt/);
  });

  it('takes events encoded by the caller: same messages, sampling and drop counting as track', async () => {
    const stream = new MemoryStream({ partitions: 2 });
    const tracker = new Tracker({ stream, topic: 't', samplingPercentage: 50, random: seededRandom(3), onError: () => undefined });
    let encoded = 0;
    for (let i = 0; i < 200; i++) {
      tracker.trackEncoded(`ep${i % 3}`, false, () => {
        encoded += 1;
        return JSON.stringify(event(i));
      });
    }
    // Errors are never sampled out.
    for (let i = 1000; i < 1020; i++) tracker.trackEncoded(`ep${i % 3}`, true, () => JSON.stringify(event(i, { error: 'boom' })));
    await tracker.flush();
    const stats = tracker.stats();
    const sent = stream.messages('t');
    assert.equal(encoded, 200 - stats.sampledOut, 'sampled-out events are never encoded');
    assert.ok(stats.sampledOut > 60 && stats.sampledOut < 140, `about half sampled out, got ${stats.sampledOut}`);
    assert.equal(sent.filter((m) => (JSON.parse(m.value) as InferenceEvent).error === 'boom').length, 20);
    assert.deepEqual(stats, { sent: 220 - stats.sampledOut, dropped: 0, failed: 0, sampledOut: stats.sampledOut, queued: 0 });
    assert.equal(sent.length, stats.sent);
    for (const m of sent) assert.equal(m.key, (JSON.parse(m.value) as InferenceEvent).endpointId);
  });

  it('drops and counts an encoded event whose encoder throws, and keeps going', async () => {
    const stream = new MemoryStream();
    const errors: string[] = [];
    const tracker = new Tracker({ stream, topic: 't', onError: (e) => errors.push(String(e)) });
    tracker.trackEncoded('ep2', false, () => {
      throw new TypeError('Do not know how to serialize a BigInt');
    });
    tracker.trackEncoded('ep1', false, () => JSON.stringify(event(1)));
    await tracker.flush();
    assert.deepEqual(ids(stream), ['r1']);
    assert.equal(tracker.stats().dropped, 1);
    assert.match(errors.join('\n'), /event of endpoint ep2 dropped: .*BigInt/);
  });

  it('hands requests over as numbers: the stream encodes them when it can, the tracker when it cannot, to the same text', async () => {
    const info = { endpointId: 'ep1', project: 'p', function: 'f', model: 'm', featureNames: ['a', 'b'] };
    const encoder = new EventEncoder(info);
    const request = (i: number, extra: Partial<EventArgs> = {}): EventArgs => ({
      start: { ns: 0n, ms: 1_764_000_000_000 + i },
      latencyUs: i,
      requestId: `r${i}`,
      inputs: [[i, i / 7]],
      outputs: [i * 2],
      ...extra,
    });
    // Plain numbers, then the kinds that are encoded at once (text inputs, an error), interleaved.
    const requests = Array.from({ length: 300 }, (_, i) =>
      i % 50 === 7 ? request(i, { inputs: [['x', i]] }) : i % 50 === 9 ? request(i, { error: 'boom', outputs: undefined }) : request(i),
    );
    const expected = requests.map((r) => encoder.encode(r));

    // A stream without publishEvents gets the messages, each encoded at once.
    const plain = new MemoryStream();
    const t1 = new Tracker({ stream: plain, topic: 't', batchSize: 64 });
    for (const r of requests) t1.trackRequest(encoder, r);
    await t1.flush();
    assert.deepEqual(
      plain.messages('t').map((m) => [m.key, m.value]),
      expected.map((v) => ['ep1', v]),
    );

    // A stream with publishEvents gets batches (failing once: the retry rebuilds them) and decodes them the same.
    const batches: number[] = [];
    let fail = true;
    const inner = new MemoryStream();
    const encoding = {
      publish: (topic: string, messages: OutgoingMessage[]) => inner.publish(topic, messages),
      publishEvents: async (topic: string, batch: EventBatch) => {
        if (fail) {
          fail = false;
          throw new Error('stream down');
        }
        batches.push(batch.count);
        await inner.publish(topic, decodeEventBatch(batch));
      },
    };
    const t2 = new Tracker({ stream: encoding, topic: 't', batchSize: 64, retryInitialMs: 1, onError: () => undefined });
    for (const r of requests) t2.trackRequest(encoder, r);
    await until(() => t2.stats().sent === 300);
    assert.deepEqual(
      inner.messages('t').map((m) => m.value),
      expected,
    );
    assert.ok(batches.length >= 5 && batches.every((n) => n <= 64), `batches of at most batchSize: ${batches.join(', ')}`);
    assert.deepEqual(t2.stats(), { sent: 300, dropped: 0, failed: 1, sampledOut: 0, queued: 0 });
    assert.equal(heldBy(t2), 0, 'the numbers of published events are let go');

    // While the stream is down, the queue bound drops the oldest, and their numbers go with them.
    let down = true;
    const flaky = {
      publish: (topic: string, messages: OutgoingMessage[]) => inner.publish(topic, messages),
      publishEvents: async (topic: string, batch: EventBatch) => {
        if (down) throw new Error('stream down');
        await inner.publish(topic, decodeEventBatch(batch));
      },
    };
    const before = inner.messages('t').length;
    const t4 = new Tracker({ stream: flaky, topic: 't', maxQueue: 50, batchSize: 20, retryInitialMs: 1, retryMaxMs: 5, onError: () => undefined });
    for (let i = 0; i < 1000; i++) {
      t4.trackRequest(encoder, request(i));
      if (i % 100 === 0) await sleep(2);
    }
    assert.ok(heldBy(t4) <= 50, `at most maxQueue events held as numbers, got ${heldBy(t4)}`);
    down = false;
    await t4.flush();
    const stats = t4.stats();
    assert.equal(stats.sent + stats.dropped, 1000);
    assert.ok(stats.dropped >= 950, `dropped ${stats.dropped}`);
    assert.equal(heldBy(t4), 0);
    // What was sent is the newest events, whole and in order.
    const sent = inner.messages('t').slice(before).map((m) => m.value);
    const sentIds = sent.map((v) => Number(/"id":"r(\d+)"/.exec(v)![1]));
    assert.deepEqual(sent, sentIds.map((i) => encoder.encode(request(i))));
    assert.deepEqual(sentIds, [...sentIds].sort((x, y) => x - y));
    assert.equal(sent.at(-1), encoder.encode(request(999)));

    // With a topic function every event is encoded at once (the function is given the event).
    const routed = new MemoryStream();
    const t3 = new Tracker({ stream: { publish: (topic, m) => routed.publish(topic, m), publishEvents: () => Promise.reject(new Error('not used')) }, topic: (e) => `events.${e.model}` });
    for (const r of requests.slice(0, 20)) t3.trackRequest(encoder, r);
    await t3.flush();
    assert.deepEqual(
      routed.messages('events.m').map((m) => m.value),
      expected.slice(0, 20),
    );
  });

  it('keeps the numbers a publish reads in place until that publish settles, even one it gave up waiting for', async () => {
    const encoder = new EventEncoder({ endpointId: 'ep1', project: 'p', function: 'f', model: 'm', featureNames: ['a', 'b'] });
    const request = (i: number): EventArgs => ({ start: { ns: 0n, ms: 1_764_000_000_000 + i }, latencyUs: i, requestId: `r${i}`, inputs: [[i, -i / 3]], outputs: [i / 2] });
    const inner = new MemoryStream();
    // The first publish hangs (a stream's thread stuck behind a lock) until let go, then goes through; the rest go through at once.
    let held: EventBatch | undefined;
    let letGo: () => void = () => undefined;
    const stream = {
      publish: (topic: string, messages: OutgoingMessage[]) => inner.publish(topic, messages),
      publishEvents: async (topic: string, batch: EventBatch) => {
        if (!held) {
          held = batch;
          await new Promise<void>((resolve) => (letGo = resolve));
        }
        await inner.publish(topic, decodeEventBatch(batch));
      },
    };
    const tracker = new Tracker({ stream, topic: 't', batchSize: 20, publishTimeoutMs: 30, retryInitialMs: 1, onError: () => undefined });
    for (let i = 0; i < 20; i++) tracker.trackRequest(encoder, request(i));
    await until(() => tracker.stats().failed === 1);
    assert.ok(held && held.nums.buffer instanceof SharedArrayBuffer, 'published in place');
    const first = decodeEventBatch(held).map((m) => m.value);
    assert.deepEqual(first, Array.from({ length: 20 }, (_, i) => encoder.encode(request(i))));
    // Enough events to fill several store chunks go out, each published and let go, while the first publish is in doubt.
    for (let i = 20; i < 30_000; i++) {
      tracker.trackRequest(encoder, request(i));
      if (i % 2000 === 0) await tracker.flush();
    }
    await tracker.flush();
    assert.equal(tracker.stats().sent, 29_980);
    assert.deepEqual(
      decodeEventBatch(held).map((m) => m.value),
      first,
      'the hung publish still reads its own events',
    );
    letGo();
    await until(() => tracker.stats().sent === 30_000);
    assert.equal(heldBy(tracker), 0);
    const stored = inner.messages('t').map((m) => m.value);
    assert.deepEqual(stored.slice(-20), first, 'the publish in doubt went through once, last');
    assert.deepEqual(
      stored.slice(0, -20),
      Array.from({ length: 29_980 }, (_, i) => encoder.encode(request(i + 20))),
    );
  });

  it('decodes an encoded event for a topic function', async () => {
    const stream = new MemoryStream();
    const tracker = new Tracker({ stream, topic: (e) => `events.${e.model}`, onError: () => undefined });
    tracker.trackEncoded('ep1', false, () => JSON.stringify(event(1, { model: 'churn' })));
    tracker.trackEncoded('ep2', false, () => '{not json');
    await tracker.flush();
    assert.deepEqual(ids(stream, 'events.churn'), ['r1']);
    assert.equal(tracker.stats().dropped, 1, 'a value the topic function cannot be given is dropped');
  });

  it('close flushes, then drops and counts what it could not send in time', async () => {
    const up = new MemoryStream();
    const ok = new Tracker({ stream: up, topic: 't', flushIntervalMs: 10_000 });
    ok.track(event(1));
    await ok.close();
    assert.equal(up.messages('t').length, 1);
    ok.track(event(2));
    assert.equal(ok.stats().dropped, 1);

    const down = new MemoryStream();
    down.beforePublish = () => {
      throw new Error('down');
    };
    const t = new Tracker({ stream: down, topic: 't', retryInitialMs: 10, onError: () => undefined });
    for (let i = 0; i < 3; i++) t.track(event(i));
    const t0 = Date.now();
    await t.close({ timeoutMs: 100 });
    assert.ok(Date.now() - t0 < 1000);
    const s = t.stats();
    assert.equal(s.dropped, 3);
    assert.equal(s.queued, 0);
    assert.ok(s.failed >= 2, `failed ${s.failed}`);
  });
});

describe('Tracker: durable events (trackRequestDurable)', () => {
  const encoder = new EventEncoder({ endpointId: 'ep1', project: 'p', function: 'f', model: 'm', featureNames: ['a', 'b'] });
  const request = (i: number): EventArgs => ({ start: { ns: 0n, ms: 1_764_000_000_000 + i }, latencyUs: i, requestId: `r${i}`, inputs: [[i, i / 4]], outputs: [i * 3] });
  /** Settles to 'stored' or the rejection's message, so that a test can look without awaiting. */
  const state = (p: Promise<void>) => {
    const s = { v: 'waiting' as string };
    p.then(
      () => (s.v = 'stored'),
      (err: unknown) => (s.v = err instanceof TrackingUnavailableError ? `refused: ${err.message}` : `other: ${String(err)}`),
    );
    return s;
  };
  const ticks = async (n = 5) => {
    for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
  };

  for (const numbers of [false, true]) {
    it(`resolves once the event is in the stream, without waiting for the flush interval (${numbers ? 'kept as numbers, publishEvents' : 'encoded, publish'})`, async () => {
      const inner = new MemoryStream();
      let letGo: () => void = () => undefined;
      let gate: Promise<void> | undefined = new Promise<void>((resolve) => (letGo = resolve));
      const publish = async (topic: string, messages: OutgoingMessage[]) => {
        if (gate) await gate;
        await inner.publish(topic, messages);
      };
      const stream = numbers ? { publish, publishEvents: (topic: string, batch: EventBatch) => publish(topic, decodeEventBatch(batch)) } : { publish };
      // A flush interval far beyond the test's timeout: a durable event must not wait for it.
      const tracker = new Tracker({ stream, topic: 't', flushIntervalMs: 600_000, onError: () => undefined });
      const first = state(tracker.trackRequestDurable(encoder, request(0)));
      await until(() => tracker.stats().queued === 1 && inner.messages('t').length === 0);
      await sleep(20);
      assert.equal(first.v, 'waiting', 'not answered while its publish is under way');
      gate = undefined;
      letGo();
      await until(() => first.v !== 'waiting');
      assert.equal(first.v, 'stored');
      assert.deepEqual(inner.messages('t').map((m) => m.value), [encoder.encode(request(0))]);
      assert.deepEqual(tracker.stats(), { sent: 1, dropped: 0, failed: 0, sampledOut: 0, queued: 0 });
      if (numbers) assert.equal(heldBy(tracker), 0);
      await tracker.close();
    });
  }

  it('puts the durable events that come during a publish into the next one, started as soon as it settles (group commit)', async () => {
    const inner = new MemoryStream();
    const sizes: number[] = [];
    let letGo: () => void = () => undefined;
    let gate: Promise<void> | undefined = new Promise<void>((resolve) => (letGo = resolve));
    const stream = {
      publish: async (topic: string, messages: OutgoingMessage[]) => {
        sizes.push(messages.length);
        if (gate) await gate;
        await inner.publish(topic, messages);
      },
    };
    const tracker = new Tracker({ stream, topic: 't', flushIntervalMs: 600_000, onError: () => undefined });
    const all = [tracker.trackRequestDurable(encoder, request(0))];
    await until(() => sizes.length === 1);
    for (let i = 1; i <= 200; i++) all.push(tracker.trackRequestDurable(encoder, request(i)));
    gate = undefined;
    letGo();
    await Promise.all(all);
    assert.equal(sizes[0], 1);
    assert.equal(sizes.slice(1).reduce((a, b) => a + b, 0), 200);
    assert.ok(sizes.length <= 1 + Math.ceil(200 / 16), `the 200 waiting events went out together, in slices: ${sizes.join(',')}`);
    assert.deepEqual(
      inner.messages('t').map((m) => m.value),
      Array.from({ length: 201 }, (_, i) => encoder.encode(request(i))),
    );
    await tracker.close();
  });

  it('refuses the durable events of a failed publish and does not retry them; other events are retried', async () => {
    const stream = new MemoryStream();
    let down = true;
    stream.beforePublish = () => {
      if (down) throw new Error('stream down');
    };
    const tracker = new Tracker({ stream, topic: 't', flushIntervalMs: 600_000, retryInitialMs: 5, retryMaxMs: 5, onError: () => undefined });
    tracker.track(event(100));
    const durable = [0, 1, 2].map((i) => state(tracker.trackRequestDurable(encoder, request(i))));
    await until(() => durable.every((d) => d.v !== 'waiting'));
    for (const d of durable) assert.match(d.v, /^refused: tracking could not store the event: publishing failed: stream down/);
    down = false;
    await until(() => tracker.stats().sent === 1);
    await tracker.flush();
    assert.deepEqual(ids(stream), ['r100'], 'only the plain event was retried and stored');
    const s = tracker.stats();
    assert.equal(s.dropped, 3);
    assert.equal(s.queued, 0);
    await tracker.close();
  });

  it('while the stream is down, refuses new durable events at once but one, which waits for the next retry and is stored once it is back', async () => {
    const stream = new MemoryStream();
    let down = true;
    stream.beforePublish = () => {
      if (down) throw new Error('stream down');
    };
    const tracker = new Tracker({ stream, topic: 't', flushIntervalMs: 600_000, retryInitialMs: 200, retryMaxMs: 200, onError: () => undefined });
    const firstFail = state(tracker.trackRequestDurable(encoder, request(0)));
    await until(() => firstFail.v !== 'waiting');
    assert.match(firstFail.v, /^refused/);
    const probe = state(tracker.trackRequestDurable(encoder, request(1)));
    const refused = [2, 3, 4].map((i) => state(tracker.trackRequestDurable(encoder, request(i))));
    await ticks();
    for (const r of refused) assert.match(r.v, /^refused: .*the stream is not taking events.*last publish error: stream down/);
    assert.equal(probe.v, 'waiting');
    down = false;
    await until(() => probe.v !== 'waiting');
    assert.equal(probe.v, 'stored');
    assert.deepEqual(ids(stream), ['r1']);
    // Back to normal: durable events are stored again.
    await tracker.trackRequestDurable(encoder, request(5));
    assert.deepEqual(ids(stream), ['r1', 'r5']);
    await until(() => tracker.stats().queued === 0);
    assert.deepEqual(tracker.stats(), { sent: 2, dropped: 4, failed: 1, sampledOut: 0, queued: 0 });
    await tracker.close();
  });

  it('refuses a durable event dropped from a full queue, and those still waiting when it closes', async () => {
    const stream = new MemoryStream();
    stream.beforePublish = () => new Promise<void>(() => undefined); // hangs
    const tracker = new Tracker({ stream, topic: 't', maxQueue: 3, publishTimeoutMs: 600_000, onError: () => undefined });
    const waiting = [0, 1, 2, 3, 4].map((i) => state(tracker.trackRequestDurable(encoder, request(i))));
    await until(() => stream.publishCalls === 1);
    await ticks();
    // The queue holds 3: the two oldest made room for the newest, the rest are being published.
    assert.deepEqual(
      waiting.map((w) => (w.v.startsWith('refused') ? /queue is full/.test(w.v) : w.v)),
      [true, true, 'waiting', 'waiting', 'waiting'],
    );
    await tracker.close({ timeoutMs: 20 });
    await ticks();
    for (const w of waiting) assert.match(w.v, /^refused/);
    await assert.rejects(tracker.trackRequestDurable(encoder, request(9)), TrackingUnavailableError);
  });

  it('refuses a durable event whose publish timed out, and lets it go if that publish then fails (its client may send it again)', async () => {
    const stream = new MemoryStream();
    let settle: ((e?: Error) => void) | undefined;
    stream.beforePublish = () =>
      stream.publishCalls === 1 ? new Promise<void>((resolve, reject) => (settle = (e) => (e ? reject(e) : resolve()))) : undefined;
    const tracker = new Tracker({ stream, topic: 't', publishTimeoutMs: 20, retryInitialMs: 5, retryMaxMs: 5, onError: () => undefined });
    const d = state(tracker.trackRequestDurable(encoder, request(0)));
    tracker.track(event(1)); // in the same publish, not durable
    await until(() => d.v !== 'waiting');
    assert.match(d.v, /^refused: .*its publish did not finish in time .*it may still be stored/);
    settle!(new Error('stream gave up'));
    await until(() => tracker.stats().sent === 1);
    await tracker.flush();
    assert.deepEqual(ids(stream), ['r1'], 'the plain event is retried; the refused durable one is not');
    assert.deepEqual(tracker.stats(), { sent: 1, dropped: 1, failed: 1, sampledOut: 0, queued: 0 });
    await tracker.close();
  });

  it('resolves at once for a request left out by sampling', async () => {
    const stream = new MemoryStream();
    const tracker = new Tracker({ stream, topic: 't', samplingPercentage: 0 });
    await tracker.trackRequestDurable(encoder, request(0));
    assert.equal(tracker.stats().sampledOut, 1);
    assert.equal(stream.publishCalls, 0);
    await tracker.close();
  });
});
