import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EventTooLargeError, ManualClock, Modelwatch } from '../../src/index.ts';
import { NatsStream } from '../../src/stream/nats/nats-stream.ts';
import { EventEncoder, type EventArgs } from '../../src/tracking/event.ts';
import { Tracker } from '../../src/tracking/tracker.ts';
import { deleteNatsNamespace, natsNamespace, natsServerBinMissing, natsUnavailableReason, natsUrl, startNatsServer } from '../backends/nats.ts';
import { rng, tempHome } from './helpers.ts';

class RowSum {
  predict(rows: unknown[][]): number[] {
    return rows.map((r) => (r as number[]).reduce((a, b) => a + b, 0));
  }
}

class RowLength {
  predict(rows: unknown[][]): number[] {
    return rows.map((r) => r.length);
  }
}

/*
 * Serving takes a request of 10,000 rows (up to 8 MiB); its event would be some 2 MB of text, past
 * the 1 MiB ingest and NATS take. Over real HTTP, with plain and with durable tracking: every row
 * is stored, in its place under the request's id, and nothing is dead-lettered.
 */
const ROWS = 10_000;
const natsReason = await natsUnavailableReason();

for (const streamKind of ['embedded', 'nats'] as const) {
  const skip = streamKind === 'nats' ? natsReason : undefined;
  describe(`a request too large for one event: ${streamKind} stream`, { skip }, () => {
    const namespace = natsNamespace();
    const { home, cleanup } = tempHome('mw-large-request-');
    after(async () => {
      if (streamKind === 'nats' && !skip) await deleteNatsNamespace(namespace);
      cleanup();
    });

    test('is stored whole, every row in its place, with plain and with durable tracking', { timeout: 120_000 }, async () => {
      const start = Date.UTC(2026, 4, 1);
      const mw = await Modelwatch.open({ home, clock: new ManualClock(start), background: false, logLevel: 'silent', ...(streamKind === 'nats' ? { streamUrl: natsUrl(namespace) } : {}) });
      try {
        const project = await mw.createProject('large');
        await project.enableModelMonitoring({ basePeriod: 10, deployHistogramDataDriftApp: false });
        const plain = await project.setFunction('serving', { kind: 'serving' });
        plain.addModel('m', { model: new RowSum() });
        plain.setTracking();
        await project.deployFunction(plain);
        const durable = await project.setFunction('serving-durable', { kind: 'serving' });
        durable.addModel('m', { model: new RowSum() });
        durable.setTracking({ durable: true });
        await project.deployFunction(durable);

        const r = rng(11);
        const rows = Array.from({ length: ROWS }, () => Array.from({ length: 10 }, () => r.normal(0, 1000)));
        const body = JSON.stringify({ id: 'large-1', inputs: rows });
        assert.ok(body.length > 1_048_576, `a body of ${body.length} characters`);
        for (const name of ['serving', 'serving-durable']) {
          const base = (await project.getFunction(name)).status.address!;
          const res = await fetch(new URL('/v2/models/m/infer', base), { method: 'POST', headers: { 'content-type': 'application/json' }, body });
          assert.equal(res.status, 200, await res.text());
          await mw.runtime.worker('large', name)!.flush!();
        }
        await mw.runUntilIdle();

        assert.deepEqual(await project.listDeadLetters(), []);
        const endpoints = await project.listModelEndpoints();
        assert.equal(endpoints.length, 2);
        const tsdb = await mw.platform.tsdbFor('large');
        const sums = rows.map((row) => row.reduce((a, b) => a + b, 0));
        for (const ep of endpoints) {
          assert.equal(ep.errorCount, 0, ep.function);
          const stored = await tsdb.readPredictionsByRequest('large', ep.id, ['large-1']);
          assert.equal(stored.length, ROWS, ep.function);
          assert.deepEqual(
            stored.map((p) => p.rowIndex),
            rows.map((_, i) => i),
          );
          assert.deepEqual(
            stored.map((p) => p.features),
            rows,
          );
          assert.deepEqual(
            stored.map((p) => p.outputs),
            sums.map((s) => [s]),
          );
          assert.equal(await tsdb.countPredictions('large', ep.id, { start: 0, end: start + 3_600_000 }), ROWS);
        }
      } finally {
        await mw.close();
      }
    });
  });
}

/*
 * A NATS server of this test's own whose max_payload (256 KiB) is a quarter of the default. Over
 * real HTTP: a request whose one row makes an event larger than a message of that server holds is
 * tracked as one endpoint error (plain tracking) or answered 413 (durable); the requests after it
 * are all stored, nothing waits behind it, and a request of many rows larger than 256 KiB is split
 * into events that fit this server and stored whole.
 */
const PORT = 15422;
const MAX_PAYLOAD = 262_144;

describe(`a row too large for one event, on a NATS server of max_payload ${MAX_PAYLOAD}`, { skip: natsServerBinMissing() }, () => {
  const { home, cleanup } = tempHome('mw-large-row-');
  const serverDir = path.join(home, 'nats');
  let server: ChildProcess | undefined;
  before(async () => {
    fs.mkdirSync(serverDir, { recursive: true });
    const conf = path.join(serverDir, 'nats.conf');
    fs.writeFileSync(conf, `max_payload: ${MAX_PAYLOAD}\n`);
    server = await startNatsServer(PORT, path.join(serverDir, 'js'), ['-c', conf]);
  });
  after(async () => {
    const s = server;
    if (s && s.exitCode === null) {
      const exited = new Promise((r) => s.once('exit', r));
      s.kill('SIGTERM');
      await exited;
    }
    cleanup();
  });

  test("a tracker that does not know the server's limit: the server refuses the event, it is dropped (durable: refused), the others go on at once", { timeout: 60_000 }, async () => {
    const nats = await NatsStream.connect({ url: `nats://127.0.0.1:${PORT}?partitions=2&namespace=hidden` });
    try {
      assert.equal(nats.maxEventBytes, MAX_PAYLOAD - 2048);
      // The stream without its maxEventBytes, as a tracker sees a cluster whose servers differ in max_payload.
      const stream = { publish: nats.publish.bind(nats), publishEvents: nats.publishEvents.bind(nats) };
      const told: string[] = [];
      const tracker = new Tracker({ stream, topic: 'mw.hidden.events', onError: (err) => told.push(String(err)) });
      const encoder = new EventEncoder({ endpointId: 'ep', project: 'hidden', function: 'f', model: 'm' });
      const at = { ns: 0n, ms: Date.UTC(2026, 4, 1) };
      // Under the tracker's own 1 MiB, so published as one event, which this server cannot take.
      const big: EventArgs = { start: at, latencyUs: 1, requestId: 'big', inputs: [Array.from({ length: 2000 }, (_, i) => `${i}:${'v'.repeat(300)}`)], outputs: [1] };
      const smallArgs = (i: number): EventArgs => ({ start: at, latencyUs: i, requestId: `small-${i}`, inputs: [[i, i + 1]], outputs: [i] });
      tracker.trackRequest(encoder, big);
      for (let i = 0; i < 50; i++) tracker.trackRequest(encoder, smallArgs(i));
      const flushed = Date.now();
      await tracker.flush();
      assert.ok(Date.now() - flushed < 5000, `flushed in ${Date.now() - flushed} ms`);
      assert.deepEqual(tracker.stats(), { sent: 50, dropped: 1, failed: 0, sampledOut: 0, queued: 0 });

      const refused = tracker.trackRequestDurable(encoder, { ...big, requestId: 'big-durable' });
      const stored = Array.from({ length: 50 }, (_, i) => tracker.trackRequestDurable(encoder, smallArgs(50 + i)));
      await assert.rejects(refused, (err: unknown) => err instanceof EventTooLargeError && /^tracking could not store the event: the stream takes no event this large: a stream message larger than the NATS server's max_payload \(262144 bytes\)/.test(err.message));
      await Promise.all(stored);
      await tracker.flush();
      assert.deepEqual(tracker.stats(), { sent: 100, dropped: 2, failed: 0, sampledOut: 0, queued: 0 });
      // Told once for the endpoint, not per event.
      assert.equal(told.length, 1, told.join('\n'));
      await tracker.close();

      const sub = await nats.subscribe('mw.hidden.events', 'g');
      const ids: string[] = [];
      for (let got = await sub.fetch(200, 1000); got.length > 0; got = await sub.fetch(200, 200)) ids.push(...got.map((m) => (JSON.parse(m.value) as { request: { id: string } }).request.id));
      assert.deepEqual(ids.sort(), Array.from({ length: 100 }, (_, i) => `small-${i}`).sort());
      await sub.close();
    } finally {
      await nats.close();
    }
  });

  test('is one endpoint error, or 413 with durable tracking; every other request is stored, nothing waits', { timeout: 120_000 }, async () => {
    const start = Date.UTC(2026, 4, 1);
    const mw = await Modelwatch.open({ home, clock: new ManualClock(start), background: false, logLevel: 'silent', streamUrl: `nats://127.0.0.1:${PORT}` });
    try {
      const project = await mw.createProject('largerow');
      await project.enableModelMonitoring({ basePeriod: 10, deployHistogramDataDriftApp: false });
      for (const [name, durable] of [
        ['serving', false],
        ['serving-durable', true],
      ] as const) {
        const fn = await project.setFunction(name, { kind: 'serving' });
        fn.addModel('m', { model: new RowLength() });
        fn.setTracking(durable ? { durable: true } : {});
        await project.deployFunction(fn);
      }

      const r = rng(12);
      // One row of 2,000 strings: some 600 KB of event, over what a message of this server holds (and under 1 MiB).
      const hugeRow = Array.from({ length: 2000 }, (_, i) => `${i}:${'v'.repeat(300)}`);
      const small = (i: number) => ({ id: `small-${i}`, inputs: [Array.from({ length: 10 }, () => r.normal(0, 1))] });
      // 2,000 rows of ten numbers: some 400 KB of event, split into events that fit this server.
      const manyRows = Array.from({ length: 2000 }, () => Array.from({ length: 10 }, () => r.normal(0, 1000)));
      assert.ok(JSON.stringify(manyRows).length > MAX_PAYLOAD && JSON.stringify(hugeRow).length > 2 * MAX_PAYLOAD);

      const tsdb = await mw.platform.tsdbFor('largerow');
      for (const [name, durable] of [
        ['serving', false],
        ['serving-durable', true],
      ] as const) {
        const base = (await project.getFunction(name)).status.address!;
        const infer = (body: unknown) => fetch(new URL('/v2/models/m/infer', base), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        const big = await infer({ id: 'huge-row', inputs: [hugeRow] });
        const bigBody = (await big.json()) as { error?: string; message?: string };
        if (durable) {
          assert.equal(big.status, 413, JSON.stringify(bigBody));
          assert.equal(bigBody.error, 'event_too_large');
          assert.match(bigBody.message!, /^the request's event is \d+ bytes, more than one event holds \(260096 bytes\); its rows are not monitored$/);
        } else assert.equal(big.status, 200, JSON.stringify(bigBody));
        for (let i = 0; i < 100; i++) {
          const res = await infer(small(i));
          assert.equal(res.status, 200, await res.text());
        }
        const many = await infer({ id: 'many-rows', inputs: manyRows });
        assert.equal(many.status, 200, await many.text());
        // Nothing is left waiting behind the huge row: the tracker's queue empties at once.
        const flushed = Date.now();
        await mw.runtime.worker('largerow', name)!.flush!();
        assert.ok(Date.now() - flushed < 5000, `flushed in ${Date.now() - flushed} ms`);
      }
      await mw.runUntilIdle();

      assert.deepEqual(await project.listDeadLetters(), []);
      const endpoints = await project.listModelEndpoints();
      assert.equal(endpoints.length, 2);
      for (const ep of endpoints) {
        // The huge row: one error of its endpoint, saying why.
        assert.equal(ep.errorCount, 1, ep.function);
        const errors = await tsdb.readErrors('largerow', ep.id, { start: 0, end: start + 3_600_000 });
        assert.deepEqual(
          errors.map((e) => e.requestId),
          ['huge-row'],
        );
        assert.match(errors[0]!.error, /^the request's event is \d+ bytes, more than one event holds \(260096 bytes\); its rows are not monitored$/);
        // Every small request, and the request of many rows whole, in its places.
        const ids = Array.from({ length: 100 }, (_, i) => `small-${i}`);
        const stored = await tsdb.readPredictionsByRequest('largerow', ep.id, ids);
        assert.deepEqual([...new Set(stored.map((p) => p.requestId))].sort(), [...ids].sort(), ep.function);
        const rows = await tsdb.readPredictionsByRequest('largerow', ep.id, ['many-rows']);
        assert.deepEqual(
          rows.map((p) => p.rowIndex),
          manyRows.map((_, i) => i),
        );
        assert.deepEqual(
          rows.map((p) => p.features),
          manyRows,
        );
        assert.equal(await tsdb.readPredictionsByRequest('largerow', ep.id, ['huge-row']).then((p) => p.length), 0);
      }
    } finally {
      await mw.close();
    }
  });
});
