import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { request } from 'undici';
import type { Platform } from '../../src/project/platform.ts';
import { createServer } from '../../src/server/app.ts';
import { openPlatform, tempHome } from './helpers.ts';

/*
 * A page on any site can make a browser send POSTs with text/plain, form and multipart bodies (or
 * none) without asking the server first. Every state-changing route refuses them (415) before any
 * handler runs, so nothing changes; JSON (which needs a CORS preflight, which the server never
 * answers) and, without a body, a bearer token pass. The routes are read from the server itself,
 * so a route added later is covered too.
 */

const STATE_CHANGING = new Set(['POST', 'PUT', 'DELETE', 'PATCH']);
const EVIL = 'https://evil.example';

describe('cross-site requests cannot change anything', { timeout: 120_000 }, () => {
  let platform: Platform;
  let app: FastifyInstance;
  let base: string;
  let home: string;
  let cleanup: () => Promise<void>;
  const routes: { method: string; url: string }[] = [];

  /** What the server holds: projects, functions (deployed or not), models, credentials, and the artifact files. */
  const state = async (): Promise<string> =>
    JSON.stringify({
      projects: await platform.store.listProjects(),
      functions: await platform.store.listFunctions(),
      models: await platform.store.listModels('site'),
      credentials: (await platform.store.getCredentials('site')) ?? null,
      files: fs.readdirSync(path.join(home, 'artifacts'), { recursive: true }).map(String).sort(),
    });
  const fill = (url: string): string =>
    url.replace(/:([A-Za-z]+)/g, (_, p: string) => ({ project: 'site', name: 'serve', key: 'm', id: 'e' })[p] ?? 'x');

  before(async () => {
    ({ home, cleanup } = await tempHome('mw-cross-site-'));
    platform = await openPlatform(home);
    app = createServer({ platform, logger: false });
    app.addHook('onRoute', (r: RouteOptions) => {
      for (const method of [r.method].flat()) if (STATE_CHANGING.has(method)) routes.push({ method, url: r.url });
    });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    const json = { 'content-type': 'application/json' };
    const setup: [string, string, unknown][] = [
      ['POST', '/projects', { name: 'site' }],
      ['PUT', '/projects/site/functions/serve', { kind: 'serving', spec: { models: [{ name: 'm', modelPath: path.join(process.cwd(), 'm.js') }] } }],
      ['POST', '/projects/site/models/m', { trainingSet: [{ a: 1 }, { a: 2 }] }],
    ];
    for (const [method, p, body] of setup) {
      const res = await fetch(`${base}/api/v1${p}`, { method, headers: json, body: JSON.stringify(body) });
      assert.ok(res.ok, `${method} ${p}: ${await res.text()}`);
    }
  });

  after(async () => {
    await app.close();
    await platform.close();
    await cleanup();
  });

  test('the server has state-changing routes to check', () => {
    const names = routes.map((r) => `${r.method} ${r.url}`);
    for (const r of ['POST /api/v1/projects', 'DELETE /api/v1/projects/:project', 'POST /api/v1/projects/:project/functions/:name/deploy', 'POST /api/v1/projects/:project/functions/:name/undeploy', 'POST /api/v1/projects/:project/functions/:name/invoke', 'PUT /api/v1/projects/:project/credentials', 'POST /api/v1/projects/:project/models/:key']) {
      assert.ok(names.includes(r), `${r} in ${names.join(', ')}`);
    }
  });

  test('every simple cross-site form is refused with 415 on every state-changing route, and nothing changes', async () => {
    const before = await state();
    const forms: [string, () => RequestInit][] = [
      ['text/plain', () => ({ body: '{"name":"evil","wait":false}', headers: { 'content-type': 'text/plain' } })],
      ['text/plain, empty', () => ({ body: '', headers: { 'content-type': 'text/plain;charset=UTF-8' } })],
      ['urlencoded', () => ({ body: new URLSearchParams({ name: 'evil', wait: 'false' }) })],
      ['urlencoded, empty', () => ({ body: '', headers: { 'content-type': 'application/x-www-form-urlencoded' } })],
      ['multipart', () => { const f = new FormData(); f.set('name', 'evil'); return { body: f }; }],
      ['no body, no type', () => ({})],
      ['a body and a bearer token, not JSON', () => ({ body: '{}', headers: { 'content-type': 'text/plain', authorization: 'Bearer t' } })],
    ];
    for (const r of routes) {
      for (const [what, init] of forms) {
        const i = init();
        const res = await fetch(`${base}${fill(r.url)}`, { method: r.method, ...i, headers: { origin: EVIL, ...(i.headers as Record<string, string> | undefined) } });
        const body = (await res.json()) as { error: string; message: string };
        assert.equal(res.status, 415, `${what}: ${r.method} ${r.url} answered ${res.status} ${JSON.stringify(body)}`);
        assert.equal(body.error, 'unsupported_media_type');
        assert.match(body.message, /need Content-Type: application\/json/);
        assert.equal(res.headers.get('access-control-allow-origin'), null);
      }
    }
    assert.equal(await state(), before);
  });

  test('JSON passes, and a request without a body may carry a bearer token instead', async () => {
    const deploy = await fetch(`${base}/api/v1/projects/site/functions/serve/deploy`, { method: 'POST', headers: { 'content-type': 'Application/JSON; charset=utf-8' }, body: '{"wait":false}' });
    assert.equal(deploy.status, 200, await deploy.text());
    assert.equal((await platform.store.getFunction('site', 'serve'))?.deployed, true);
    const undeploy = await request(`${base}/api/v1/projects/site/functions/serve/undeploy`, { method: 'POST', headers: { authorization: 'Bearer anything' } });
    assert.equal(undeploy.statusCode, 200, await undeploy.body.text());
    assert.equal((await platform.store.getFunction('site', 'serve'))?.deployed, false);
    const bodiless = await request(`${base}/api/v1/projects/site/functions/serve/undeploy`, { method: 'POST', headers: { 'content-type': 'application/json' } });
    assert.equal(bodiless.statusCode, 200, await bodiless.body.text());
    // Basic credentials, which a browser attaches by itself, are no proof.
    const basic = await request(`${base}/api/v1/projects/site/functions/serve/undeploy`, { method: 'POST', headers: { authorization: 'Basic dTpw' } });
    assert.equal(basic.statusCode, 415);
    await basic.body.dump();
  });

  test('only the media type application/json passes, whatever else a Content-Type says (1,000 cases)', async () => {
    const type = fc.constantFrom('application/json', 'Application/JSON', 'APPLICATION/JSON', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data', 'text/json', 'application/jsonx', 'application/json-patch+json', 'application/vnd.api+json', 'json', 'application', '*/*', 'application/*', 'text/plain application/json', 'application/json, text/plain', 'text/plain,application/json');
    const param = fc.constantFrom('', '; charset=utf-8', ';charset=UTF-8', '; boundary=x', '; x=application/json', ';application/json', ' ;');
    const space = fc.constantFrom('', ' ', '  ');
    const before = (await platform.store.getFunction('site', 'serve'))!.deployed;
    await fc.assert(
      fc.asyncProperty(space, type, param, async (lead, t, p) => {
        const header = `${lead}${t}${p}`;
        const res = await request(`${base}/api/v1/projects/site/functions/serve/undeploy`, { method: 'POST', headers: { 'content-type': header, origin: EVIL } });
        await res.body.dump();
        const json = t.toLowerCase() === 'application/json';
        assert.equal(res.statusCode, json ? 200 : 415, `Content-Type: ${header}`);
      }),
      { numRuns: 1000 },
    );
    assert.equal((await platform.store.getFunction('site', 'serve'))!.deployed, before);
  });

  test('no CORS headers are sent, to a preflight or to a request from another origin', async () => {
    const preflight = await fetch(`${base}/api/v1/projects/site/functions/serve/deploy`, {
      method: 'OPTIONS',
      headers: { origin: EVIL, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    await preflight.arrayBuffer();
    const read = await fetch(`${base}/api/v1/projects`, { headers: { origin: EVIL } });
    assert.equal(read.status, 200);
    await read.arrayBuffer();
    for (const res of [preflight, read]) for (const [k] of res.headers) assert.ok(!k.startsWith('access-control-'), `answered ${k}`);
  });
});
