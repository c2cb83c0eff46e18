import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Platform } from '../../src/project/platform.ts';
import { issueTestToken, openPlatform, startServer, tempHome } from './helpers.ts';

const APP_MODULE = fileURLToPath(new URL('../../src/apps/histogram-data-drift.ts', import.meta.url));

interface Answer {
  status: number;
  body: unknown;
}

function client(base: string, token?: string) {
  return async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> => {
    const res = await fetch(`${base}/api/v1${path}`, {
      method,
      headers: {
        // As the SDK does: state changes need it even without a body (see cross-site.test.ts).
        ...(body !== undefined || method !== 'GET' ? { 'content-type': 'application/json' } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
  };
}

type Rec = Record<string, unknown>;

describe('REST API', () => {
  let platform: Platform;
  let app: FastifyInstance;
  let cleanup: () => Promise<void>;
  let call: ReturnType<typeof client>;

  before(async () => {
    const t = await tempHome();
    cleanup = t.cleanup;
    platform = await openPlatform(t.home);
    const s = await startServer(platform);
    app = s.app;
    call = client(s.url);
  });

  after(async () => {
    await app.close();
    await platform.close();
    await cleanup();
  });

  test('health answers', async () => {
    const r = await call('GET', '/health');
    assert.equal(r.status, 200);
    assert.equal((r.body as Rec).status, 'ok');
  });

  test('projects: create, conflict, list, get, bad names and bodies', async () => {
    const created = await call('POST', '/projects', { name: 'alpha', description: 'first', labels: { team: 'ml' } });
    assert.equal(created.status, 201);
    assert.equal((created.body as Rec).name, 'alpha');

    const again = await call('POST', '/projects', { name: 'alpha' });
    assert.equal(again.status, 409);
    assert.equal((again.body as Rec).error, 'conflict');

    const list = await call('GET', '/projects');
    assert.deepEqual((list.body as Rec[]).map((p) => p.name), ['alpha']);

    const got = await call('GET', '/projects/alpha');
    assert.equal(got.status, 200);
    assert.equal((got.body as Rec).description, 'first');

    for (const bad of [{}, { name: 'Bad Name' }, { name: 'ok', colour: 'blue' }, { name: 'ok', labels: { a: 1 } }]) {
      const r = await call('POST', '/projects', bad);
      assert.equal(r.status, 400, JSON.stringify(bad));
      assert.equal((r.body as Rec).error, 'validation_error');
      assert.equal(typeof (r.body as Rec).message, 'string');
    }
    const notJson = await call('POST', '/projects', '{"name":', { 'content-type': 'application/json' });
    assert.equal(notJson.status, 400);
  });

  test('404s for unknown projects, functions, endpoints, models and routes', async () => {
    for (const path of ['/projects/nope', '/projects/nope/functions', '/projects/alpha/functions/nope', '/projects/alpha/endpoints/abc', '/projects/alpha/models/nope', '/nowhere']) {
      const r = await call('GET', path);
      assert.equal(r.status, 404, path);
      assert.equal((r.body as Rec).error, 'not_found', path);
    }
    assert.equal((await call('DELETE', '/projects/nope')).status, 404);
    assert.equal((await call('POST', '/projects/nope/monitoring/enable', {})).status, 404);
  });

  test('enable monitoring brings up the infrastructure functions and histogram-data-drift', async () => {
    const r = await call('POST', '/projects/alpha/monitoring/enable', { basePeriod: 1 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal((r.body as Rec).basePeriodMinutes, 1);
    assert.equal((r.body as Rec).enabled, true);

    const fns = (await call('GET', '/projects/alpha/functions')).body as Rec[];
    const names = fns.map((f) => f.name).sort();
    assert.deepEqual(names, ['histogram-data-drift', 'model-monitoring-controller', 'model-monitoring-stream', 'model-monitoring-writer']);
    assert.ok(fns.every((f) => f.deployed === true));

    const apps = (await call('GET', '/projects/alpha/functions?kind=monitoring-application')).body as Rec[];
    assert.deepEqual(apps.map((f) => f.name), ['histogram-data-drift']);

    const proj = (await call('GET', '/projects/alpha')).body as { monitoring: Rec };
    assert.equal(proj.monitoring.enabled, true);
  });

  test('monitoring options are validated', async () => {
    assert.equal((await call('POST', '/projects/alpha/monitoring/enable', { basePeriod: 'often' })).status, 400);
    assert.equal((await call('POST', '/projects/alpha/monitoring/enable', { basePeriod: 0 })).status, 400);
    assert.equal((await call('POST', '/projects/alpha/monitoring/enable', { basePeriodMinutes: 5 })).status, 400);
    // Changing the period of running monitoring without going through the controller is a conflict.
    assert.equal((await call('POST', '/projects/alpha/monitoring/enable', { basePeriod: 5 })).status, 409);
    assert.equal((await call('POST', '/projects/alpha/functions?kind=bogus')).status, 404);
    assert.equal((await call('GET', '/projects/alpha/functions?kind=bogus')).status, 400);
  });

  test('controller base period can be updated', async () => {
    const r = await call('POST', '/projects/alpha/monitoring/controller', { basePeriod: 2 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal((r.body as Rec).basePeriodMinutes, 2);
    assert.equal((await call('POST', '/projects/alpha/monitoring/controller', {})).status, 400);
  });

  test('credentials: set, secrets hidden, conflict without replace, replace', async () => {
    await call('POST', '/projects', { name: 'creds' });
    const set = await call('PUT', '/projects/creds/credentials', { tsdbConnection: 'postgres://mw:s3cret@db.example:5432/mw?password=s3cret' });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.ok(!JSON.stringify(set.body).includes('s3cret'));
    assert.ok(Array.isArray((set.body as Rec).notAvailable));

    const got = await call('GET', '/projects/creds/credentials');
    assert.equal(got.status, 200);
    assert.ok(!JSON.stringify(got.body).includes('s3cret'), JSON.stringify(got.body));
    assert.match(String((got.body as Rec).tsdbConnection), /^postgres:\/\/mw:\*\*\*@db\.example/);

    const conflict = await call('PUT', '/projects/creds/credentials', { tsdbConnection: 'postgres://mw:other@db.example/mw' });
    assert.equal(conflict.status, 409);
    assert.equal((conflict.body as Rec).error, 'conflict');

    const same = await call('PUT', '/projects/creds/credentials', { tsdbConnection: 'postgres://mw:s3cret@db.example:5432/mw?password=s3cret' });
    assert.equal(same.status, 200, 'setting the same value again is not a conflict');

    const replaced = await call('PUT', '/projects/creds/credentials', { tsdbConnection: 'postgres://mw:other@db.example/mw', replace: true });
    assert.equal(replaced.status, 200);
    assert.equal((await call('PUT', '/projects/creds/credentials', { tsdbConnection: 42 })).status, 400);
    assert.equal((await call('PUT', '/projects/creds/credentials', { tsdb: 'x' })).status, 400);
  });

  test('functions: register an app, deploy, undeploy, remove; serving specs; reserved names', async () => {
    const put = await call('PUT', '/projects/alpha/functions/my-drift', { kind: 'monitoring-application', application: APP_MODULE, className: 'HistogramDataDriftApplication', options: { detectedThreshold: 0.6 } });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal((put.body as Rec).deployed, false);
    assert.equal(((put.body as Rec).spec as Rec).application, APP_MODULE);

    // No supervisor runs this store's functions: a deploy that would wait says so and changes nothing.
    const noServer = await call('POST', '/projects/alpha/functions/my-drift/deploy');
    assert.equal(noServer.status, 503);
    assert.equal((noServer.body as Rec).error, 'no_supervisor');
    assert.match(String((noServer.body as Rec).message), /deployed functions run under `modelwatch up`/);
    assert.equal(((await call('GET', '/projects/alpha/functions/my-drift')).body as Rec).deployed, false);
    assert.equal((await call('POST', '/projects/alpha/functions/my-drift/deploy', { wait: true, timeoutSecs: 5 })).status, 400, 'a misspelt option');

    const dep = await call('POST', '/projects/alpha/functions/my-drift/deploy', { wait: false });
    assert.equal(dep.status, 200);
    assert.equal((dep.body as Rec).deployed, true);
    assert.equal(((dep.body as Rec).status as Rec).state, 'starting');

    const undep = await call('POST', '/projects/alpha/functions/my-drift/undeploy');
    assert.equal((undep.body as Rec).deployed, false);
    assert.equal(((undep.body as Rec).status as Rec).state, 'stopped');

    assert.equal((await call('DELETE', '/projects/alpha/functions/my-drift')).status, 204);
    assert.equal((await call('GET', '/projects/alpha/functions/my-drift')).status, 404);

    const reserved = await call('PUT', '/projects/alpha/functions/model-monitoring-writer', { kind: 'monitoring-application', application: APP_MODULE });
    assert.equal(reserved.status, 400);
    assert.equal((await call('DELETE', '/projects/alpha/functions/model-monitoring-writer')).status, 409);
    assert.equal((await call('PUT', '/projects/alpha/functions/x', { kind: 'monitoring-application' })).status, 400);
    assert.equal((await call('PUT', '/projects/alpha/functions/x', { kind: 'cron' })).status, 400);
    assert.equal((await call('PUT', '/projects/alpha/functions/x', { kind: 'monitoring-application', application: APP_MODULE, name: 'y' })).status, 400);

    const serving = await call('PUT', '/projects/alpha/functions/serving', {
      kind: 'serving',
      // Inside the default code root (the working folder); it need not exist until deployed.
      spec: { models: [{ name: 'weather', modelPath: fileURLToPath(new URL('../fixtures/models/weather.js', import.meta.url)), className: 'WeatherModel' }], tracking: { enabled: true, samplingPercentage: 50 } },
    });
    assert.equal(serving.status, 200, JSON.stringify(serving.body));
    const spec = (serving.body as Rec).spec as { models: Rec[]; tracking: Rec };
    assert.equal(spec.models[0]!.className, 'WeatherModel');
    assert.equal(spec.tracking.samplingPercentage, 50);
    assert.equal((await call('PUT', '/projects/alpha/functions/serving2', { kind: 'serving', spec: { models: [] } })).status, 400);
    assert.equal((await call('PUT', '/projects/alpha/functions/serving2', { kind: 'serving', spec: { models: [{ name: 'm' }] } })).status, 400);
    // A name taken by another kind of function is a conflict.
    assert.equal((await call('PUT', '/projects/alpha/functions/serving', { kind: 'monitoring-application', application: APP_MODULE })).status, 409);

    // Not deployed: invoking says so; a path that would leave the function's address is refused.
    const notDeployed = await call('POST', '/projects/alpha/functions/serving/invoke', { path: '/v2/health/ready' });
    assert.equal(notDeployed.status, 503);
    assert.deepEqual(notDeployed.body, { error: 'not_running', message: "serving function 'serving' is not deployed; deploy it first", details: { function: 'serving', state: 'not-deployed' } });
    for (const path of ['//evil.example/x', '/\\evil.example/x', 'http://evil.example/x']) {
      const r = await call('POST', '/projects/alpha/functions/serving/invoke', { path });
      assert.equal(r.status, 400, path);
      assert.match(String((r.body as Rec).message), /pattern/, path);
    }
    assert.equal((await call('POST', '/projects/alpha/functions/serving/invoke', {})).status, 400);
  });

  test('models: log from rows and CSV text; a server-side path is refused', async () => {
    const rows = Array.from({ length: 50 }, (_, i) => ({ temp: i % 17, wind: (i * 7) % 11, label: i % 2 }));
    const r = await call('POST', '/projects/alpha/models/weather', { trainingSet: rows, labelColumn: 'label', model: { weights: [1, 2] } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const m = r.body as { uri: string; featureNames: string[]; labelNames: string[]; featureStats: Record<string, Rec> };
    assert.equal(m.uri, 'store://models/alpha/weather:latest');
    assert.deepEqual(m.featureNames, ['temp', 'wind']);
    assert.deepEqual(m.labelNames, ['label']);
    assert.ok(m.featureStats.temp);

    const csv = await call('POST', '/projects/alpha/models/csv-model', { trainingSet: { csv: 'a,b\n1,2\n3,4\n5,6\n' }, tag: 'v1' });
    assert.equal(csv.status, 201, JSON.stringify(csv.body));
    assert.equal((await call('GET', '/projects/alpha/models/csv-model?tag=v1')).status, 200);
    assert.equal(((await call('GET', '/projects/alpha/models')).body as Rec[]).length, 2);

    assert.equal((await call('POST', '/projects/alpha/models/bad', { trainingSet: { path: '/etc/passwd' } })).status, 400);
    assert.equal((await call('POST', '/projects/alpha/models/bad', { trainingSet: 'a,b' })).status, 400);
    assert.equal((await call('POST', '/projects/alpha/models/bad', { rows })).status, 400);
    assert.equal((await call('POST', '/projects/alpha/models/bad', { trainingSet: rows, labelColumn: 'missing' })).status, 400);
  });

  test('endpoints, results, metrics and events answer (empty before traffic); times are checked', async () => {
    for (const path of ['/projects/alpha/endpoints', '/projects/alpha/results', '/projects/alpha/metrics', '/projects/alpha/results/latest', '/projects/alpha/events']) {
      const r = await call('GET', path);
      assert.equal(r.status, 200, `${path}: ${JSON.stringify(r.body)}`);
      assert.deepEqual(r.body, [], path);
    }
    const ok = await call('GET', '/projects/alpha/results?start=2026-01-01T00:00:00Z&end=1893456000000&app=histogram-data-drift&limit=5');
    assert.equal(ok.status, 200);
    assert.equal((await call('GET', '/projects/alpha/results?start=yesterday')).status, 400);
    assert.equal((await call('GET', '/projects/alpha/results?limit=0')).status, 400);
    assert.equal((await call('GET', '/projects/alpha/results?start=2000&end=1000')).status, 400);
    assert.equal((await call('GET', '/projects/alpha/events?since=soon')).status, 400);
    assert.equal((await call('GET', '/projects/alpha/endpoints/abc/results')).status, 404);
  });

  test('disable monitoring, delete a project', async () => {
    assert.equal((await call('POST', '/projects/alpha/monitoring/disable', { deleteUserApplications: 'maybe' })).status, 400);
    const r = await call('POST', '/projects/alpha/monitoring/disable', {});
    assert.equal(r.status, 204);
    const fns = (await call('GET', '/projects/alpha/functions')).body as Rec[];
    assert.ok(!fns.some((f) => f.name === 'histogram-data-drift'));
    assert.equal(fns.find((f) => f.name === 'model-monitoring-controller')?.deployed, false);
    assert.equal(fns.find((f) => f.name === 'model-monitoring-stream')?.deployed, true, 'the stream keeps running by default');

    assert.equal((await call('DELETE', '/projects/alpha')).status, 204);
    assert.equal((await call('GET', '/projects/alpha')).status, 404);
    assert.equal((await call('GET', '/projects/alpha/functions')).status, 404);
  });
});

describe('REST API with a token', () => {
  let token: string;
  let platform: Platform;
  let app: FastifyInstance;
  let url: string;
  let cleanup: () => Promise<void>;

  before(async () => {
    const t = await tempHome();
    cleanup = t.cleanup;
    platform = await openPlatform(t.home);
    token = await issueTestToken(platform, 'admin');
    ({ app, url } = await startServer(platform));
  });

  after(async () => {
    await app.close();
    await platform.close();
    await cleanup();
  });

  test('every route but health needs the bearer token', async () => {
    const anon = client(url);
    assert.equal((await anon('GET', '/health')).status, 200);
    const denied = await anon('GET', '/projects');
    assert.equal(denied.status, 401);
    assert.equal((denied.body as Rec).error, 'unauthorized');
    assert.equal((await anon('POST', '/projects', { name: 'x' })).status, 401);
    assert.equal((await anon('GET', '/no-such-route')).status, 401, 'unknown routes do not reveal themselves');
    assert.equal((await client(url, 'wrong')('GET', '/projects')).status, 401);
    assert.equal((await anon('GET', '/projects', undefined, { authorization: `Basic ${Buffer.from(`x:${token}`).toString('base64')}` })).status, 401);
    assert.equal((await client(url, token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A'))('GET', '/projects')).status, 401, 'one character off');

    const authed = client(url, token);
    assert.equal((await authed('POST', '/projects', { name: 'x' })).status, 201);
    assert.equal((await authed('GET', '/projects')).status, 200);
  });
});
