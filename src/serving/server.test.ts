import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { endpointId } from '../common/ids.ts';
import type { InferenceEvent } from '../common/types.ts';
import { MemoryStream } from '../stream/memory-stream.ts';
import { Tracker } from '../tracking/tracker.ts';
import type { ModelClass } from './model.ts';
import { createServingServer, type RequestErrorInfo, type ServingServer } from './server.ts';

const sumModel: ModelClass = { predict: (rows) => rows.map((r) => (r as number[]).reduce((a, b) => a + b, 0)) };
const probaModel: ModelClass = {
  predict: async (rows) => {
    if (rows.some((r) => r[0] === 'boom')) throw new Error('cannot score boom');
    return rows.map(() => [0.25, 0.75]);
  },
};

async function call(base: string, path: string, body?: unknown, init: RequestInit = {}) {
  const res = await fetch(`${base}${path}`, {
    ...(body !== undefined ? { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
    ...init,
  });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const events = (stream: MemoryStream) => stream.messages('events').map((m) => ({ key: m.key, ev: JSON.parse(m.value) as InferenceEvent }));

describe('serving server (real HTTP)', () => {
  let stream: MemoryStream;
  let tracker: Tracker;
  let server: ServingServer;
  let base: string;
  const requestErrors: RequestErrorInfo[] = [];
  const sumId = endpointId({ project: 'shop', function: 'serve', model: 'sum' });
  const probaV2Id = endpointId({ project: 'shop', function: 'serve', model: 'proba', version: 'v2' });

  before(async () => {
    stream = new MemoryStream({ partitions: 2 });
    tracker = new Tracker({ stream, topic: 'events', flushIntervalMs: 5 });
    server = createServingServer({
      project: 'shop',
      functionName: 'serve',
      tracker,
      bodyLimitBytes: 10_000,
      onRequestError: (info) => requestErrors.push(info),
      models: [
        { name: 'sum', model: sumModel, featureNames: ['a', 'b'], labelNames: ['total'], modelUri: 'store://models/shop/sum' },
        { name: 'proba', version: 'v1', model: probaModel },
        { name: 'proba', version: 'v2', model: probaModel, labelNames: ['no', 'yes'] },
      ],
    });
    await server.modelsLoaded();
    base = await server.listen();
  });
  after(async () => {
    await server.close();
    await tracker.close();
  });

  it('answers server metadata and health', async () => {
    assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual((await call(base, '/v2')).body, { name: 'modelwatch', version: '0.1.0', extensions: [] });
    assert.deepEqual(await call(base, '/v2/health/live'), { status: 200, type: 'application/json; charset=utf-8', body: { live: true } });
    assert.equal((await call(base, '/v2/health/ready')).status, 200);
    assert.deepEqual((await call(base, '/v2/models/sum/ready')).body, { name: 'sum', ready: true });
    assert.equal((await call(base, '/v2/models/proba/versions/v2/ready')).status, 200);
  });

  it('answers model metadata by name and by version', async () => {
    const sum = await call(base, '/v2/models/sum');
    assert.equal(sum.status, 200);
    assert.deepEqual(sum.body.inputs, [{ name: 'a', datatype: 'FP64', shape: [-1] }, { name: 'b', datatype: 'FP64', shape: [-1] }]);
    assert.equal(sum.body.platform, 'modelwatch');
    assert.equal((sum.body.parameters as Record<string, unknown>).endpoint_id, sumId);
    const proba = await call(base, '/v2/models/proba/versions/v2');
    assert.deepEqual(proba.body.versions, ['v1', 'v2']);
    assert.deepEqual(proba.body.outputs, [{ name: 'predict', datatype: 'FP64', shape: [-1, 2] }]);
    assert.equal((proba.body.parameters as Record<string, unknown>).version, 'v2');
  });

  it('returns 404 JSON for unknown models, versions and routes', async () => {
    assert.deepEqual(await call(base, '/v2/models/nope/infer', { inputs: [[1]] }), {
      status: 404,
      type: 'application/json; charset=utf-8',
      body: { error: 'not_found', message: "model 'nope' is not served by function 'serve'" },
    });
    assert.deepEqual((await call(base, '/v2/models/proba/versions/v9')).body, { error: 'not_found', message: "model 'proba' version 'v9' is not served by function 'serve'" });
    assert.equal((await call(base, '/v3/whatever')).body.error, 'not_found');
  });

  it('infers the tensor and short forms and tracks N predictions per request', async () => {
    const before = events(stream).length;
    const tensor = await call(base, '/v2/models/sum/infer', { id: 'req-tensor', inputs: [{ name: 'x', shape: [3, 2], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6] }] });
    assert.equal(tensor.status, 200);
    assert.deepEqual(tensor.body, { model_name: 'sum', id: 'req-tensor', outputs: [{ name: 'predict', shape: [3], datatype: 'FP64', data: [3, 7, 11] }] });
    const short = await call(base, '/v2/models/proba/versions/v2/infer', { inputs: [['x'], ['y']] });
    assert.equal(short.status, 200);
    assert.equal(short.body.model_version, 'v2');
    assert.match(String(short.body.id), /^[0-9a-f-]{36}$/);
    assert.deepEqual(short.body.outputs, [{ name: 'predict', shape: [2, 2], datatype: 'FP64', data: [0.25, 0.75, 0.25, 0.75] }]);
    // JSON with parameters is JSON
    const charset = await call(base, '/v2/models/sum/infer', undefined, { method: 'POST', headers: { 'content-type': 'Application/JSON; charset=utf-8' }, body: JSON.stringify({ inputs: [[1, 1]] }) });
    assert.equal(charset.status, 200);

    await tracker.flush();
    const got = events(stream).slice(before);
    assert.equal(got.length, 3);
    const first = got[0]!;
    assert.equal(first.key, sumId);
    assert.equal(first.ev.endpointId, sumId);
    assert.deepEqual(first.ev.request, { id: 'req-tensor', inputs: [[1, 2], [3, 4], [5, 6]] });
    assert.deepEqual(first.ev.response, { outputs: [3, 7, 11] });
    assert.deepEqual(first.ev.featureNames, ['a', 'b']);
    assert.equal(first.ev.modelUri, 'store://models/shop/sum');
    assert.match(first.ev.when, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.ok(first.ev.latencyUs > 0, `latencyUs ${first.ev.latencyUs}`);
    assert.equal(got[1]!.ev.endpointId, probaV2Id);
    assert.equal(got[1]!.ev.version, 'v2');
    assert.equal(got.reduce((n, e) => n + e.ev.request.inputs.length, 0), 6);
  });

  it('refuses the bodies a web page can send across sites (415): not served, counted or tracked, and no CORS headers', async () => {
    await tracker.flush();
    const before = events(stream).length;
    const stats = JSON.stringify(server.stats());
    const errorsBefore = requestErrors.length;
    const json = JSON.stringify({ inputs: [[1, 2]] });
    const form = new FormData();
    form.set('inputs', json);
    const crossSite: [string, RequestInit][] = [
      ['text/plain', { body: json, headers: { 'content-type': 'text/plain' } }],
      ['text/plain (fetch default for a string)', { body: json }],
      ['urlencoded', { body: new URLSearchParams({ [json]: '' }) }],
      ['multipart', { body: form }],
      ['no content type', { body: new Blob([json]) }],
      ['a JSON-looking non-JSON type', { body: json, headers: { 'content-type': 'application/json-seq' } }],
    ];
    for (const path of ['/v2/models/sum/infer', '/v2/models/proba/versions/v2/infer']) {
      for (const [what, init] of crossSite) {
        const res = await fetch(`${base}${path}`, { method: 'POST', ...init, headers: { origin: 'https://evil.example', ...(init.headers as Record<string, string>) } });
        assert.equal(res.status, 415, `${what} on ${path}`);
        assert.equal(((await res.json()) as { error: string }).error, 'unsupported_media_type');
        assert.equal(res.headers.get('access-control-allow-origin'), null);
      }
    }
    const preflight = await fetch(`${base}/v2/models/sum/infer`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    await preflight.arrayBuffer();
    for (const [k] of preflight.headers) assert.ok(!k.startsWith('access-control-'), `preflight answered ${k}`);
    await tracker.flush();
    await sleep(20);
    assert.equal(events(stream).length, before, 'nothing tracked');
    assert.equal(JSON.stringify(server.stats()), stats, 'nothing served or counted');
    assert.equal(requestErrors.length, errorsBefore);
  });

  it('answers bad bodies with 400 and the reason, counted as endpoint errors', async () => {
    requestErrors.length = 0;
    const before = events(stream).length;
    const shape = await call(base, '/v2/models/sum/infer', { id: 'bad-1', inputs: [{ name: 'x', shape: [2, 2], datatype: 'FP32', data: [1, 2, 3] }] });
    assert.deepEqual(shape, { status: 400, type: 'application/json; charset=utf-8', body: { error: 'validation_error', message: 'inputs[0].shape [2,2] needs 4 values, got 3' } });
    const width = await call(base, '/v2/models/sum/infer', { inputs: [[1, 2, 3]] });
    assert.equal(width.body.message, 'rows have 3 values per row but the model has 2 features (a, b)');
    const json = await call(base, '/v2/models/sum/infer', '{"inputs": [[1, 2]');
    assert.equal(json.status, 400);
    assert.equal(json.body.error, 'validation_error');
    const big = await call(base, '/v2/models/sum/infer', { inputs: Array.from({ length: 2000 }, () => [1, 2]) });
    assert.equal(big.status, 413);
    assert.equal(big.body.error, 'payload_too_large');

    assert.deepEqual(requestErrors.map((e) => [e.endpointId, e.status]), [[sumId, 400], [sumId, 400], [sumId, 400], [sumId, 413]]);
    await tracker.flush();
    const errs = events(stream).slice(before).map((e) => e.ev);
    assert.equal(errs.length, 4);
    assert.ok(errs.every((e) => typeof e.error === 'string' && e.endpointId === sumId && e.response === undefined));
    assert.equal(errs[0]!.request.id, 'bad-1');
    assert.equal(errs[0]!.error, 'inputs[0].shape [2,2] needs 4 values, got 3');
  });

  it('answers a model exception with 500 model_error, tracked with the rows', async () => {
    requestErrors.length = 0;
    const before = events(stream).length;
    const res = await call(base, '/v2/models/proba/versions/v1/infer', { id: 'r-boom', inputs: [['boom']] });
    assert.deepEqual(res.body, { error: 'model_error', message: "model 'proba' failed: cannot score boom" });
    assert.equal(res.status, 500);
    assert.equal(requestErrors.length, 1);
    assert.equal(requestErrors[0]!.status, 500);
    await tracker.flush();
    const [err] = events(stream).slice(before);
    assert.equal(err!.ev.error, "model 'proba' failed: cannot score boom");
    assert.deepEqual(err!.ev.request, { id: 'r-boom', inputs: [['boom']] });
    assert.equal(err!.ev.endpointId, endpointId({ project: 'shop', function: 'serve', model: 'proba', version: 'v1' }));
  });

  it('counts requests, predictions and errors per endpoint', () => {
    const s = server.stats();
    const sum = s.models.find((m) => m.name === 'sum')!;
    assert.equal(sum.predictions, 4);
    assert.equal(sum.errors, 4);
    assert.equal(sum.requests, 6);
    assert.ok(sum.latencyUsTotal > 0);
    assert.equal(s.errors, 5);
  });
});

describe('serving server: loading, latency and a stuck stream', () => {
  it('is not ready until every model has loaded, and reports a failed load', async () => {
    let finish: () => void = () => undefined;
    const slow: ModelClass = { load: () => new Promise<void>((r) => (finish = r)), predict: (rows) => rows.map(() => 1) };
    const broken: ModelClass = { load: () => Promise.reject(new Error('no weights')), predict: (rows) => rows };
    const errors: RequestErrorInfo[] = [];
    const server = createServingServer({
      project: 'shop',
      functionName: 'serve',
      models: [{ name: 'slow', model: slow }, { name: 'broken', model: broken }],
      onRequestError: (e) => errors.push(e),
    });
    const base = await server.listen();
    try {
      assert.equal((await call(base, '/v2/health/ready')).status, 503);
      const early = await call(base, '/v2/models/slow/infer', { inputs: [[1]] });
      assert.deepEqual(early, { status: 503, type: 'application/json; charset=utf-8', body: { error: 'model_not_ready', message: "model 'slow' is still loading" } });
      finish();
      await server.modelsLoaded();
      assert.equal((await call(base, '/v2/models/slow/infer', { inputs: [[1]] })).status, 200);
      assert.deepEqual((await call(base, '/v2/models/broken/ready')).body, { name: 'broken', ready: false, error: "model 'broken' failed: no weights" });
      assert.equal((await call(base, '/v2/health/ready')).status, 503);
      assert.equal(errors.length, 1);
    } finally {
      await server.close();
    }
  });

  it('measures latency past one second without wrapping', async () => {
    const stream = new MemoryStream();
    const tracker = new Tracker({ stream, topic: 'events' });
    // 1,150 ms asleep: a timer may fire up to a millisecond before its time by the high-resolution clock.
    const slow: ModelClass = { predict: async (rows) => (await sleep(1150), rows.map(() => 0)) };
    const server = createServingServer({ project: 'shop', functionName: 'serve', models: [{ name: 'slow', model: slow }], tracker });
    const base = await server.listen();
    try {
      assert.equal((await call(base, '/v2/models/slow/infer', { inputs: [[1]] })).status, 200);
      await tracker.flush();
      const ev = JSON.parse(stream.messages('events')[0]!.value) as InferenceEvent;
      assert.ok(ev.latencyUs >= 1_100_000 && ev.latencyUs < 5_000_000, `latencyUs ${ev.latencyUs}`);
    } finally {
      await server.close();
      await tracker.close();
    }
  });

  it('keeps serving when the stream hangs: bounded queue, drops counted', async () => {
    const stream = new MemoryStream();
    stream.beforePublish = () => new Promise<void>(() => undefined);
    const tracker = new Tracker({ stream, topic: 'events', maxQueue: 20, batchSize: 5, flushIntervalMs: 1, publishTimeoutMs: 60_000 });
    const server = createServingServer({ project: 'shop', functionName: 'serve', models: [{ name: 'sum', model: sumModel }], tracker });
    const base = await server.listen();
    try {
      const t0 = performance.now();
      const results = await Promise.all(Array.from({ length: 60 }, (_, i) => call(base, '/v2/models/sum/infer', { inputs: [[i, 1]] })));
      assert.ok(results.every((r) => r.status === 200));
      assert.ok(performance.now() - t0 < 3000);
      const s = tracker.stats();
      assert.equal(s.queued, 20);
      assert.equal(s.dropped, 40);
      assert.equal(s.sent, 0);
    } finally {
      await server.close();
      await tracker.close({ timeoutMs: 10 });
    }
  });
});

describe('serving server: the output datatype is the model\'s, not each answer\'s', () => {
  // A linear model: whole numbers for some rows, fractions for others.
  const linear: ModelClass = { predict: (rows) => rows.map((r) => 2 * (r[0] as number) + 0.5 * (r[1] as number)) };
  const classIds: ModelClass & { outputDatatype: 'INT64' } = { outputDatatype: 'INT64', predict: (rows) => rows.map((r) => ((r[0] as number) > 0 ? 1 : (r[0] as number) < -10 ? 0.5 : 0)) };
  const labels: ModelClass = { predict: (rows) => rows.map((r) => ((r[0] as number) > 0 ? 'yes' : 'no')) };
  let server: ServingServer;
  let base: string;

  before(async () => {
    server = createServingServer({
      project: 'shop',
      functionName: 'typed',
      models: [
        { name: 'linear', model: linear, featureNames: ['a', 'b'], labelNames: ['y'] },
        { name: 'ids', model: classIds },
        { name: 'labels', model: labels },
      ],
    });
    await server.modelsLoaded();
    base = await server.listen();
  });
  after(() => server.close());

  const infer = async (model: string, rows: unknown[][]) => call(base, `/v2/models/${model}/infer`, { inputs: rows });
  const tensor = (r: { body: Record<string, unknown> }) => (r.body.outputs as { datatype: string; data: unknown[] }[])[0]!;

  it('without a declaration: numbers are FP64 whether they are whole or not, in every request', async () => {
    const whole = await infer('linear', [[40, 16]]); // 88
    const fraction = await infer('linear', [[80, 7]]); // 163.5
    assert.deepEqual(tensor(whole), { name: 'predict', shape: [1], datatype: 'FP64', data: [88] });
    assert.deepEqual(tensor(fraction), { name: 'predict', shape: [1], datatype: 'FP64', data: [163.5] });
    assert.deepEqual((await call(base, '/v2/models/linear')).body.outputs, [{ name: 'predict', datatype: 'FP64', shape: [-1] }], 'the metadata says what the answers say');
    assert.equal(tensor(await infer('labels', [[1], [-1]])).datatype, 'BYTES');
  });

  it('a declared datatype is answered, in the metadata too, and an output that does not fit it fails the request', async () => {
    assert.deepEqual(tensor(await infer('ids', [[3], [-2]])), { name: 'predict', shape: [2], datatype: 'INT64', data: [1, 0] });
    assert.deepEqual((await call(base, '/v2/models/ids')).body.outputs, [{ name: 'predict', datatype: 'INT64', shape: [-1] }]);
    const misfit = await infer('ids', [[3], [-20]]);
    assert.equal(misfit.status, 500);
    assert.deepEqual(misfit.body, { error: 'model_error', message: "model 'ids' failed: output 0.5 does not fit the model's declared output datatype INT64" });
  });

  it('a declaration that is no V2 datatype is refused when the server is built', () => {
    assert.throws(
      () => createServingServer({ project: 'shop', functionName: 'typed', models: [{ name: 'bad', model: { outputDatatype: 'INT' as never, predict: (rows) => rows } }] }),
      /model 'bad' declares outputDatatype "INT", which is not a V2 datatype/,
    );
  });
});

describe('serving server with durable tracking (real HTTP)', () => {
  it('answers a prediction only once its event is in the stream', async () => {
    const stream = new MemoryStream();
    let letGo: () => void = () => undefined;
    let gate: Promise<void> | undefined = new Promise<void>((resolve) => (letGo = resolve));
    stream.beforePublish = () => gate;
    // A flush interval longer than the test: the durable request does not wait for it.
    const tracker = new Tracker({ stream, topic: 'events', flushIntervalMs: 600_000 });
    const server = createServingServer({ project: 'shop', functionName: 'serve', models: [{ name: 'sum', model: sumModel }], tracker, durableTracking: true });
    const base = await server.listen();
    try {
      let answered = false;
      const pending = call(base, '/v2/models/sum/infer', { id: 'd1', inputs: [[2, 3]] }).then((r) => {
        answered = true;
        return r;
      });
      await sleep(100);
      assert.equal(answered, false, 'no answer while its event is not stored');
      assert.equal(events(stream).length, 0);
      gate = undefined;
      letGo();
      const res = await pending;
      assert.equal(res.status, 200);
      const stored = events(stream);
      assert.equal(stored.length, 1);
      assert.equal(stored[0]!.ev.request.id, 'd1');
      assert.deepEqual(stored[0]!.ev.response?.outputs, [5]);
      assert.equal(server.stats().predictions, 1);
    } finally {
      await server.close();
      await tracker.close();
    }
  });

  it('answers 503 tracking_unavailable when the event cannot be stored, counted as an endpoint error and tracked as one', async () => {
    const stream = new MemoryStream();
    let down = true;
    stream.beforePublish = () => {
      if (down) throw new Error('stream down');
    };
    const tracker = new Tracker({ stream, topic: 'events', retryInitialMs: 10, retryMaxMs: 10, onError: () => undefined });
    const requestErrors: RequestErrorInfo[] = [];
    const server = createServingServer({
      project: 'shop',
      functionName: 'serve',
      models: [{ name: 'sum', model: sumModel }],
      tracker,
      durableTracking: true,
      onRequestError: (info) => requestErrors.push(info),
    });
    const base = await server.listen();
    try {
      const results = await Promise.all(Array.from({ length: 5 }, (_, i) => call(base, '/v2/models/sum/infer', { id: `x${i}`, inputs: [[i, 1]] })));
      for (const r of results) {
        assert.equal(r.status, 503);
        assert.equal(r.body.error, 'tracking_unavailable');
        assert.match(String(r.body.message), /tracking could not store the event: .*stream down/);
      }
      const s = server.stats();
      assert.deepEqual([s.requests, s.predictions, s.errors], [5, 0, 5]);
      assert.equal(requestErrors.length, 5);
      down = false;
      // Once the stream is back: the refused predictions' error events arrive, never the predictions.
      await tracker.flush();
      await sleep(50);
      await tracker.flush();
      const stored = events(stream);
      assert.ok(stored.length > 0 && stored.every((e) => e.ev.error !== undefined && e.ev.response === undefined), JSON.stringify(stored));
      const ok = await call(base, '/v2/models/sum/infer', { id: 'after', inputs: [[1, 1]] });
      assert.equal(ok.status, 200);
      assert.ok(events(stream).some((e) => e.ev.request.id === 'after' && e.ev.error === undefined));
    } finally {
      await server.close();
      await tracker.close({ timeoutMs: 100 });
    }
  });

  it('is refused when built with a tracker that cannot tell when an event is stored', () => {
    assert.throws(
      () => createServingServer({ project: 'shop', functionName: 'serve', models: [{ name: 'sum', model: sumModel }], tracker: { track: () => undefined }, durableTracking: true }),
      /durable tracking needs a tracker with trackRequestDurable/,
    );
  });
});
