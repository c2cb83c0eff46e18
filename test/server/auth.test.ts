import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { request } from 'undici';
import type { Role } from '../../src/auth/tokens.ts';
import { openStore } from '../../src/store/connect.ts';
import type { Platform } from '../../src/project/platform.ts';
import { createServer } from '../../src/server/app.ts';
import { ROUTE_ACCESS } from '../../src/server/auth.ts';
import { issueTestToken, openPlatform, tempHome } from './helpers.ts';

/*
 * Roles per route, through a real server and HTTP client. The expectations are the policy in
 * words, not a copy of ROUTE_ACCESS: reading takes viewer, changing takes editor, calling a
 * serving function takes invoker (or editor), and credentials, tokens and deleting a project take
 * admin. The routes come from the server itself, so a route added later is checked too.
 */

type Who = Role | 'anonymous' | 'unknown token';
const EVERYONE: Who[] = ['anonymous', 'unknown token', 'viewer', 'invoker', 'editor', 'admin'];

/** Who may call `method url`, by the policy. */
function policy(method: string, url: string): Role[] {
  if (/\/credentials$/.test(url) || url.startsWith('/api/v1/tokens') || (method === 'DELETE' && url === '/api/v1/projects/:project')) return ['admin'];
  if (url.endsWith('/invoke')) return ['invoker', 'editor', 'admin'];
  if (method === 'GET') return ['viewer', 'editor', 'admin'];
  return ['editor', 'admin'];
}

describe('API tokens and roles', { timeout: 180_000 }, () => {
  let platform: Platform;
  let app: FastifyInstance;
  let base: string;
  let home: string;
  let cleanup: () => Promise<void>;
  const tokens = new Map<Who, string>();
  const routes: { method: string; url: string }[] = [];

  const call = async (method: string, p: string, token?: string, body?: unknown) => {
    const res = await request(`${base}${p}`, {
      method: method as 'GET',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      ...(method === 'GET' || method === 'DELETE' ? {} : { body: JSON.stringify(body ?? {}) }),
    });
    const text = await res.body.text();
    return { status: res.statusCode, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
  };

  before(async () => {
    ({ home, cleanup } = await tempHome('mw-auth-'));
    platform = await openPlatform(home);
    app = createServer({ platform, logger: false });
    app.addHook('onRoute', (r: RouteOptions) => {
      for (const method of [r.method].flat()) if (method !== 'HEAD') routes.push({ method, url: r.url });
    });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    // Open until the store holds a token: the projects are made then.
    for (const name of ['p1', 'p2']) assert.equal((await call('POST', '/api/v1/projects', undefined, { name })).status, 201);
    for (const role of ['viewer', 'invoker', 'editor', 'admin'] as const) tokens.set(role, await issueTestToken(platform, role, { name: `the ${role}` }));
    tokens.set('unknown token', `mwt_${'0'.repeat(16)}_${'A'.repeat(43)}`);
  });

  after(async () => {
    await app.close();
    await platform.close();
    await cleanup();
  });

  test('every registered route has an access rule', () => {
    assert.ok(routes.length >= 30, `only ${routes.length} routes seen`);
    const missing = routes.filter((r) => !Object.hasOwn(ROUTE_ACCESS, `${r.method} ${r.url}`)).map((r) => `${r.method} ${r.url}`);
    assert.deepEqual(missing, [], 'add these to ROUTE_ACCESS in src/server/auth.ts');
  });

  test('each role reaches exactly the routes the policy gives it; no token gets 401', async () => {
    // DELETE /projects/:project last: the admin's call deletes p2.
    const ordered = [...routes].sort((a, b) => Number(a.method === 'DELETE' && a.url === '/api/v1/projects/:project') - Number(b.method === 'DELETE' && b.url === '/api/v1/projects/:project'));
    const wrong: string[] = [];
    for (const r of ordered) {
      const p = r.url.replace(/:([A-Za-z]+)/g, (_, k: string) => ({ project: 'p2', name: 'nope', key: 'nope', id: 'nope' })[k] ?? 'x');
      const allowed = policy(r.method, r.url);
      for (const who of EVERYONE) {
        const res = await call(r.method, p, tokens.get(who));
        const expected = r.url === '/api/v1/health' ? 'pass' : who === 'anonymous' || who === 'unknown token' ? 401 : allowed.includes(who) ? 'pass' : 403;
        const got = res.status === 401 || res.status === 403 ? res.status : 'pass';
        if (got !== expected) wrong.push(`${who} ${r.method} ${p}: expected ${expected}, got ${res.status} ${JSON.stringify(res.body)}`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  test('a token of one project reaches that project only', async () => {
    const scoped = await issueTestToken(platform, 'editor', { project: 'p1', name: 'p1 editor' });
    assert.equal((await call('GET', '/api/v1/projects/p1/functions', scoped)).status, 200);
    assert.equal((await call('POST', '/api/v1/projects/p1/monitoring/enable', scoped, { basePeriod: 10, deployHistogramDataDriftApp: false })).status, 200);
    for (const [method, p] of [['GET', '/api/v1/projects/p3'], ['GET', '/api/v1/projects/p3/functions'], ['POST', '/api/v1/projects/p3/monitoring/disable']] as const) {
      const res = await call(method, p, scoped);
      assert.equal(res.status, 403, `${method} ${p}`);
      assert.match(String(res.body?.message), /does not reach project 'p3'/);
    }
    assert.equal((await call('POST', '/api/v1/projects', scoped, { name: 'p9' })).status, 403, 'nor makes projects');
    const listed = (await call('GET', '/api/v1/projects', scoped)).body as unknown as { name: string }[];
    assert.deepEqual(listed.map((p) => p.name), ['p1'], 'and sees no other project in the list');
    assert.equal((await call('POST', '/api/v1/projects', tokens.get('editor'), { name: 'p4' })).status, 201);
    const all = (await call('GET', '/api/v1/projects', tokens.get('viewer'))).body as unknown as { name: string }[];
    assert.deepEqual(all.map((p) => p.name), ['p1', 'p4'], 'a token of no project sees them all');

    // An admin of p1 manages p1's tokens only.
    const p1Admin = await issueTestToken(platform, 'admin', { project: 'p1', name: 'p1 admin' });
    const made = await call('POST', '/api/v1/tokens', p1Admin, { name: 'made by p1 admin', role: 'viewer' });
    assert.equal(made.status, 201);
    assert.equal(made.body?.project, 'p1', 'a token made by a project admin is of that project');
    assert.equal((await call('POST', '/api/v1/tokens', p1Admin, { name: 'x', role: 'admin', project: 'p3' })).status, 403);
    const seen = (await call('GET', '/api/v1/tokens', p1Admin)).body as unknown as { project: string | null }[];
    assert.ok(seen.length >= 3 && seen.every((t) => t.project === 'p1'));
    const viewerId = (await call('GET', '/api/v1/tokens', tokens.get('admin'))).body as unknown as { id: string; name: string }[];
    const other = viewerId.find((t) => t.name === 'the viewer')!;
    assert.equal((await call('DELETE', `/api/v1/tokens/${other.id}`, p1Admin)).status, 404, "another project's token is as good as absent");
  });

  test('revocation takes effect at once, in this process and from another', async () => {
    const admin = tokens.get('admin')!;
    const made = await call('POST', '/api/v1/tokens', admin, { name: 'short-lived', role: 'viewer' });
    assert.equal(made.status, 201);
    const t = made.body as { id: string; token: string };
    assert.equal((await call('GET', '/api/v1/projects', t.token)).status, 200);
    const revoked = await call('DELETE', `/api/v1/tokens/${t.id}`, admin);
    assert.equal(revoked.status, 200);
    assert.equal(typeof revoked.body?.revokedAt, 'number');
    assert.equal((await call('GET', '/api/v1/projects', t.token)).status, 401, 'the very next request');

    // Revoked through another handle on the same store, as `modelwatch tokens revoke` in another process does.
    const second = await call('POST', '/api/v1/tokens', admin, { name: 'revoked elsewhere', role: 'editor' });
    const t2 = second.body as { id: string; token: string };
    assert.equal((await call('GET', '/api/v1/projects', t2.token)).status, 200, 'verified, and now remembered by the server');
    const other = await openStore(platform.options.storeUrl);
    try {
      assert.equal(await other.revokeToken(t2.id, Date.now()), true);
    } finally {
      await other.close();
    }
    assert.equal((await call('GET', '/api/v1/projects', t2.token)).status, 401);
  });

  test('the store keeps scrypt hashes, never a token', async () => {
    const made = (await call('POST', '/api/v1/tokens', tokens.get('admin'), { name: 'hashed', role: 'viewer' })).body as { id: string; token: string };
    assert.match(made.token, /^mwt_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    const rows = await platform.store.listTokens();
    for (const r of rows) assert.match(r.hash, /^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]{44}$/);
    const salts = rows.map((r) => r.hash.split('$')[4]);
    assert.equal(new Set(salts).size, salts.length, 'a salt per token');
    const listed = JSON.stringify((await call('GET', '/api/v1/tokens', tokens.get('admin'))).body);
    assert.ok(!listed.includes('scrypt') && !listed.includes(made.token.slice(21)), 'the list shows neither hash nor token');
    // The database file itself, WAL included.
    const db = path.join(home, 'modelwatch.db');
    const bytes = Buffer.concat([db, `${db}-wal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)));
    for (const token of [...tokens.values(), made.token]) assert.ok(!bytes.includes(token.slice(21)), 'no token secret in the database file');
    assert.ok(bytes.includes(made.id), 'the id is stored (it finds the row)');
  });

  test('malformed Authorization headers are refused with 401, never 5xx (property, 1000 cases)', async () => {
    const header = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.string({ maxLength: 120 }).map((s) => `Bearer ${s}`),
      fc.tuple(fc.stringMatching(/^[0-9a-f]{16}$/), fc.base64String({ minLength: 40, maxLength: 48 })).map(([id, s]) => `Bearer mwt_${id}_${s}`),
      fc.constantFrom(`Bearer ${tokens.get('viewer')!}x`, `Bearer ${tokens.get('viewer')!.slice(0, -1)}`, `Basic ${tokens.get('viewer')!}`, `bearer  ${tokens.get('viewer')!.toUpperCase()}`),
    );
    await fc.assert(
      fc.asyncProperty(header, async (h) => {
        let status: number;
        try {
          const res = await request(`${base}/api/v1/projects/p1/functions`, { headers: { authorization: h } });
          await res.body.dump();
          status = res.statusCode;
        } catch (err) {
          // undici refuses to send some headers (control characters): nothing reached the server.
          if ((err as { code?: string }).code === 'UND_ERR_INVALID_ARG') return;
          throw err;
        }
        assert.equal(status, 401, `Authorization: ${JSON.stringify(h)} got ${status}`);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('a server whose store holds no token', () => {
  test('answers without a token on loopback, and asks for one as soon as a token exists', async () => {
    const { home, cleanup } = await tempHome('mw-auth-open-');
    const platform = await openPlatform(home);
    const app = createServer({ platform, logger: false });
    try {
      const base = await app.listen({ host: '127.0.0.1', port: 0 });
      assert.equal((await fetch(`${base}/api/v1/projects`)).status, 200);
      const token = await issueTestToken(platform, 'viewer');
      assert.equal((await fetch(`${base}/api/v1/projects`)).status, 401);
      assert.equal((await fetch(`${base}/api/v1/projects`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
      // Revoking every token does not open it again.
      for (const t of await platform.store.listTokens()) await platform.store.revokeToken(t.id, Date.now());
      assert.equal((await fetch(`${base}/api/v1/projects`)).status, 401);
      assert.equal((await fetch(`${base}/api/v1/health`)).status, 200, 'health stays open');
    } finally {
      await app.close();
      await platform.close();
      await cleanup();
    }
  });
});
