import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { EventTooLargeError, TrackingUnavailableError } from '../common/errors.ts';
import { EVENT_LIMITS } from '../common/event-limits.ts';
import type { InferenceEvent } from '../common/types.ts';
import { parseEvent } from '../pipeline/stream-processor/validate-event.ts';
import { SqliteStream } from '../stream/embedded/sqlite-stream.ts';
import type { OutgoingMessage, Stream } from '../stream/port.ts';
import { EventEncoder, type EventArgs } from './event.ts';
import { MAX_EVENT_BYTES } from './request-events.ts';
import { seededRandom } from './seeded-random.ts';
import { Tracker } from './tracker.ts';

/*
 * A request too large for one event (serving takes 10,000 rows and 8 MiB; ingest and NATS take an
 * event of 1 MiB) is tracked as several, through a real tracker into the embedded log.
 */

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-request-events-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let files = 0;
const freshStream = (): SqliteStream => new SqliteStream({ file: path.join(root, `log-${files++}.db`) });

const encoder = new EventEncoder({ endpointId: 'ep1', project: 'p', function: 'serving', model: 'm', featureNames: Array.from({ length: 10 }, (_, j) => `f${j}`) });
const START = { ns: 0n, ms: Date.UTC(2026, 4, 1, 12, 0, 0) + 0.25 };

/** A request of `rows` rows of `cols` numbers of many digits (about 20 characters each), one output per row. */
function request(id: string, rows: number, cols = 10): EventArgs {
  const u = seededRandom(rows + cols);
  const inputs = Array.from({ length: rows }, () => Array.from({ length: cols }, () => (u() - 0.5) * 1000));
  return { start: START, latencyUs: 4321, requestId: id, inputs, outputs: inputs.map((r) => r[0]! > 0) };
}

/** Every event in the stream's topic `t`, in order. */
async function readAll(stream: Stream): Promise<string[]> {
  const sub = await stream.subscribe('t', `g${files++}`);
  const out: string[] = [];
  for (;;) {
    const got = await sub.fetch(1000, 0);
    if (got.length === 0) break;
    for (const m of got) out.push(m.value);
  }
  await sub.close();
  return out;
}

/** The events of request `id` among `texts`, parsed as ingest parses them. */
function eventsOf(texts: string[], id: string): InferenceEvent[] {
  return texts.map((t) => JSON.parse(t) as InferenceEvent).filter((e) => e.request.id === id);
}

/** Checks that `events` are the pieces of `args`: each taken by ingest, together its rows and outputs in order. */
function assertPiecesOf(texts: string[], args: EventArgs): void {
  const events = eventsOf(texts, args.requestId);
  assert.ok(events.length >= 2, `${events.length} event(s)`);
  for (const t of texts.filter((x) => events.some((e) => x.includes(`"id":"${e.request.id}"`)))) {
    assert.ok(t.length <= EVENT_LIMITS.eventChars, `an event of ${t.length} characters`);
    assert.ok(Buffer.byteLength(t) <= MAX_EVENT_BYTES, `an event of ${Buffer.byteLength(t)} bytes`);
    const parsed = parseEvent(t);
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
  }
  assert.deepEqual(
    events.flatMap((e) => e.request.inputs),
    args.inputs,
  );
  assert.deepEqual(
    events.flatMap((e) => e.response!.outputs),
    args.outputs,
  );
  let next = 0;
  for (const e of events) {
    assert.equal(e.request.firstRow, next);
    next += e.request.inputs.length;
    assert.equal(e.when, '2026-05-01T12:00:00.000250Z');
    assert.equal(e.latencyUs, args.latencyUs);
    assert.deepEqual(e.featureNames, encoder.endpoint.featureNames);
  }
}

describe('Tracker: a request too large for one event', () => {
  it('is published as several events, each within the limit, whose rows and outputs are the request\'s in order; a small one stays one event', async () => {
    const stream = freshStream();
    try {
      const tracker = new Tracker({ stream, topic: 't' });
      const big = request('big', 10_000);
      assert.ok(encoder.encode(big).length > EVENT_LIMITS.eventChars, 'the request is larger than one event');
      tracker.trackRequest(encoder, big);
      tracker.trackRequest(encoder, request('small', 2));
      await tracker.flush();
      const texts = await readAll(stream);
      assertPiecesOf(texts, big);
      const pieces = eventsOf(texts, 'big').length;
      // The small request is the one event it always was.
      assert.deepEqual(texts.at(-1), encoder.encode(request('small', 2)));
      assert.equal(texts.length, pieces + 1);
      // Counters count events.
      assert.deepEqual(tracker.stats(), { sent: pieces + 1, dropped: 0, failed: 0, sampledOut: 0, queued: 0 });
      await tracker.close();
    } finally {
      await stream.close();
    }
  });

  it('durable: resolves once every piece is in the stream', async () => {
    const stream = freshStream();
    try {
      const tracker = new Tracker({ stream, topic: 't', flushIntervalMs: 60_000 });
      const big = request('durable-big', 10_000);
      await tracker.trackRequestDurable(encoder, big);
      // Read at once: nothing of the request is left to publish.
      assertPiecesOf(await readAll(stream), big);
      assert.equal(tracker.stats().queued, 0);
      await tracker.close();
    } finally {
      await stream.close();
    }
  });

  it('durable: rejects when a piece is not stored', async () => {
    const stream = freshStream();
    try {
      // The embedded log, refusing the publish of the request's last piece.
      const refusing = {
        publish: (topic: string, messages: OutgoingMessage[]) =>
          messages.some((m) => m.value.includes('"firstRow":') && !m.value.includes('"firstRow":0,')) ? Promise.reject(new Error('refused')) : stream.publish(topic, messages),
      };
      const tracker = new Tracker({ stream: refusing, topic: 't', onError: () => undefined });
      await assert.rejects(tracker.trackRequestDurable(encoder, request('refused', 10_000)), TrackingUnavailableError);
      assert.ok(tracker.stats().dropped >= 1);
      await tracker.close();
    } finally {
      await stream.close();
    }
  });

  it('leaves out or keeps a request whole when sampling', async () => {
    const stream = freshStream();
    try {
      let draws = 0;
      // Kept, left out, kept: one draw per request, not per piece.
      const tracker = new Tracker({ stream, topic: 't', samplingPercentage: 50, random: () => [0.1, 0.9, 0.1][draws++ % 3]! });
      for (const id of ['s0', 's1', 's2']) tracker.trackRequest(encoder, request(id, 10_000));
      await tracker.flush();
      assert.equal(draws, 3);
      const texts = await readAll(stream);
      assert.equal(eventsOf(texts, 's1').length, 0);
      assertPiecesOf(texts, request('s0', 10_000));
      assertPiecesOf(texts, request('s2', 10_000));
      assert.equal(tracker.stats().sampledOut, 1);
      await tracker.close();
    } finally {
      await stream.close();
    }
  });

  it('publishes an error event in place of a row too large for an event alone, and every other event, at once; the rows beside it are stored', async () => {
    const stream = freshStream();
    try {
      const told: string[] = [];
      const tracker = new Tracker({ stream, topic: 't', onError: (err) => told.push(String(err)) });
      const u = seededRandom(3);
      const huge = Array.from({ length: 60_000 }, () => u() * 1e-3);
      const one: EventArgs = { start: START, latencyUs: 17, requestId: 'one-huge-row', inputs: [huge], outputs: [1] };
      const three: EventArgs = { start: START, latencyUs: 1, requestId: 'three', inputs: [[1, 2], huge, [3, 4]], outputs: [1, 2, 3] };
      tracker.trackRequest(encoder, one);
      tracker.trackRequest(encoder, three);
      for (let i = 0; i < 100; i++) tracker.trackRequest(encoder, request(`small-${i}`, 2));
      await tracker.flush();
      const texts = await readAll(stream);
      assert.equal(texts.length, 1 + 3 + 100);
      // Nothing published is larger than an event holds, and ingest takes every event.
      for (const t of texts) {
        assert.ok(Buffer.byteLength(t) <= MAX_EVENT_BYTES);
        const parsed = parseEvent(t);
        assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
      }
      // The request of one huge row: one error event, with its endpoint, id, when and latency.
      const oneBytes = Buffer.byteLength(encoder.encode(one));
      assert.equal(
        texts[0],
        encoder.encode({ start: START, latencyUs: 17, requestId: 'one-huge-row', inputs: [], featureNames: [], error: `the request's event is ${oneBytes} bytes, more than one event holds (${MAX_EVENT_BYTES} bytes); its rows are not monitored` }),
      );
      const error = parseEvent(texts[0]!);
      assert.ok(error.ok && error.event.endpointId === 'ep1' && error.event.when === '2026-05-01T12:00:00.000250Z' && error.event.latencyUs === 17);
      // Its rows beside the huge one are stored in their places; an error event stands for the huge one.
      const rowBytes = Buffer.byteLength(encoder.encode({ ...three, inputs: [huge], outputs: [2], firstRow: 1 }));
      assert.deepEqual(
        eventsOf(texts, 'three').map((e) => [e.request.firstRow, e.request.inputs, e.error]),
        [
          [0, [[1, 2]], undefined],
          [undefined, [], `row 1 of the request makes an event of ${rowBytes} bytes, more than one event holds (${MAX_EVENT_BYTES} bytes); that row is not monitored`],
          [2, [[3, 4]], undefined],
        ],
      );
      // The small requests, every one, in order, as they always were.
      assert.deepEqual(
        texts.slice(4),
        Array.from({ length: 100 }, (_, i) => encoder.encode(request(`small-${i}`, 2))),
      );
      // Counters count events: the error events are sent, nothing is dropped or retried.
      assert.deepEqual(tracker.stats(), { sent: 104, dropped: 0, failed: 0, sampledOut: 0, queued: 0 });
      // Told once for the endpoint, not per request.
      assert.equal(told.length, 1, told.join('\n'));
      assert.match(told[0]!, /endpoint ep1: rows too large for one event tracked as an error event: the request's event is \d+ bytes/);
      await tracker.close();
    } finally {
      await stream.close();
    }
  });

  it('durable: refuses a request with a row too large for an event alone at once, publishing nothing of it; the others are stored', async () => {
    const stream = freshStream();
    try {
      const tracker = new Tracker({ stream, topic: 't', onError: () => undefined });
      const u = seededRandom(4);
      const huge = Array.from({ length: 60_000 }, () => u() * 1e-3);
      const big: EventArgs = { start: START, latencyUs: 1, requestId: 'durable-huge-row', inputs: [[1, 2], huge], outputs: [1, 2] };
      const refused = tracker.trackRequestDurable(encoder, big);
      const stored = Array.from({ length: 20 }, (_, i) => tracker.trackRequestDurable(encoder, request(`durable-${i}`, 2)));
      await assert.rejects(refused, (err: unknown) => err instanceof EventTooLargeError && err.code === 'event_too_large' && err.httpStatus === 413 && /^row 1 of the request makes an event of \d+ bytes/.test(err.message));
      await Promise.all(stored);
      const texts = await readAll(stream);
      assert.equal(eventsOf(texts, 'durable-huge-row').length, 0);
      assert.equal(texts.length, 20);
      assert.deepEqual(tracker.stats(), { sent: 20, dropped: 1, failed: 0, sampledOut: 0, queued: 0 });
      await tracker.close();
    } finally {
      await stream.close();
    }
  });

  it("keeps to the stream's own maxEventBytes when it is lower: pieces within it, a row over it an error event", async () => {
    const log = freshStream();
    try {
      const maxEventBytes = 256 * 1024 - 2048;
      // The embedded log, saying it takes events of 254 KiB at most (as a NATS server of a max_payload of 256 KiB does).
      const stream = { maxEventBytes, publish: log.publish.bind(log), publishEvents: log.publishEvents.bind(log) };
      const tracker = new Tracker({ stream, topic: 't', onError: () => undefined });
      const big = request('big-for-256k', 2000);
      assert.ok(Buffer.byteLength(encoder.encode(big)) > 256 * 1024 && Buffer.byteLength(encoder.encode(big)) < MAX_EVENT_BYTES);
      const u = seededRandom(5);
      const row = Array.from({ length: 15_000 }, () => u() * 1e-3);
      const oneRow: EventArgs = { start: START, latencyUs: 1, requestId: 'row-over-256k', inputs: [row], outputs: [1] };
      assert.ok(Buffer.byteLength(encoder.encode(oneRow)) > maxEventBytes && Buffer.byteLength(encoder.encode(oneRow)) < MAX_EVENT_BYTES);
      tracker.trackRequest(encoder, big);
      tracker.trackRequest(encoder, oneRow);
      await tracker.flush();
      const texts = await readAll(log);
      for (const t of texts) assert.ok(Buffer.byteLength(t) <= maxEventBytes, `an event of ${Buffer.byteLength(t)} bytes`);
      assertPiecesOf(texts, big);
      assert.match(eventsOf(texts, 'row-over-256k')[0]?.error ?? '', new RegExp(`^the request's event is \\d+ bytes, more than one event holds \\(${maxEventBytes} bytes\\)`));
      await tracker.close();
    } finally {
      await log.close();
    }
  });

  it('sends an error event too large for one event without its rows: one error, its id and message kept', async () => {
    const stream = freshStream();
    try {
      const tracker = new Tracker({ stream, topic: 't' });
      const failed = { ...request('failed', 10_000), outputs: undefined, error: 'model failed' };
      tracker.trackRequest(encoder, failed);
      await tracker.flush();
      const texts = await readAll(stream);
      assert.deepEqual(texts, [encoder.encode({ ...failed, inputs: [] })]);
      const parsed = parseEvent(texts[0]!);
      assert.ok(parsed.ok && parsed.event.error === 'model failed' && parsed.event.request.id === 'failed');
      await tracker.close();
    } finally {
      await stream.close();
    }
  });

  it('sends an error event too large even without its rows (an error text of megabytes) as an error event saying so', async () => {
    const stream = freshStream();
    try {
      const tracker = new Tracker({ stream, topic: 't', onError: () => undefined });
      const failed: EventArgs = { start: START, latencyUs: 9, requestId: 'long-error', inputs: [[1, 2]], error: `model failed: ${'x'.repeat(2_000_000)}` };
      tracker.trackRequest(encoder, failed);
      await tracker.flush();
      const texts = await readAll(stream);
      assert.equal(texts.length, 1);
      const parsed = parseEvent(texts[0]!);
      assert.ok(parsed.ok && parsed.event.request.id === 'long-error' && parsed.event.latencyUs === 9, texts[0]!.slice(0, 300));
      assert.match(parsed.event.error!, /^the request's error event is \d+ bytes, more than one event holds \(\d+ bytes\); its error begins: model failed: x{986}$/);
      assert.deepEqual(tracker.stats(), { sent: 1, dropped: 0, failed: 0, sampledOut: 0, queued: 0 });
      await tracker.close();
    } finally {
      await stream.close();
    }
  });
});
