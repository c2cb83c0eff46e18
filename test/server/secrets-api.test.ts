import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { isSealed } from '../../src/common/secret-box.ts';
import type { Platform } from '../../src/project/platform.ts';
import { createServer } from '../../src/server/app.ts';
import { issueTestToken, openPlatform, tempHome } from './helpers.ts';

/*
 * Bad and hostile input to the two entry points of this part, through a real server and HTTP
 * client: credentials whose passwords hold any character (PUT then GET: no answer shows the
 * password, the store holds it sealed), and token creation with any body (never a 5xx, a token
 * only for a valid name and role, never a hash in an answer).
 */

/** A password: a marker (so that it cannot be mistaken for the text around it) and anything but a line break. */
const password = fc
  .string({ minLength: 1, maxLength: 24, unit: fc.constantFrom(...'abcXYZ019@:,/?#&=%!\'"; \\-_.~+*'.split('')) })
  .map((s) => `Q7x${s}Z`);

describe('secrets and tokens over the API, with any input', { timeout: 240_000 }, () => {
  let platform: Platform;
  let app: FastifyInstance;
  let base: string;
  let token: string;
  let cleanup: () => Promise<void>;

  const call = async (method: string, p: string, body?: unknown) => {
    const res = await request(`${base}/api/v1${p}`, {
      method: method as 'GET',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.statusCode, text: await res.body.text() };
  };

  before(async () => {
    const t = await tempHome('mw-secrets-api-');
    cleanup = t.cleanup;
    platform = await openPlatform(t.home);
    app = createServer({ platform, logger: false });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    await platform.store.createProject({ name: 'p', description: '', labels: {}, monitoring: null, createdAt: 0 });
    token = await issueTestToken(platform, 'admin');
  });

  after(async () => {
    await app.close();
    await platform.close();
    await cleanup();
  });

  test('no credential answer shows a password, whatever its characters; the store holds it sealed (1000 cases)', async () => {
    const forms: ((p: string, q: string) => { tsdbConnection?: string; streamPath?: string })[] = [
      (p) => ({ tsdbConnection: `postgres://mw:${p}@db.example:5432/prod` }),
      (p, q) => ({ streamPath: `nats://a:${p}@h1.example:4222,u2:${q}@h2.example:4222` }),
      (p) => ({ streamPath: `kafka://svc:${p}@k1.example:9092,k2.example:9092` }),
      (p) => ({ tsdbConnection: `postgres://db.example/x?password=${encodeURIComponent(p)}` }),
      (p) => ({ tsdbConnection: `host=db.example password='${p.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}' dbname=x` }),
    ];
    await fc.assert(
      fc.asyncProperty(fc.nat(forms.length - 1), password, password, async (i, p, q) => {
        const creds = forms[i]!(p, q);
        const put = await call('PUT', '/projects/p/credentials', { ...creds, replace: true });
        assert.ok(put.status === 200 || put.status === 400, `${put.status} ${put.text}`);
        const got = await call('GET', '/projects/p/credentials');
        assert.equal(got.status, 200);
        for (const text of [put.text, got.text]) {
          for (const secret of [p, q, encodeURIComponent(p), JSON.stringify(p).slice(1, -1), JSON.stringify(q).slice(1, -1)]) {
            assert.ok(!text.includes(secret), `'${secret}' shown in ${text}`);
          }
        }
        const stored = (await platform.store.getCredentials('p')) ?? {};
        for (const v of Object.values(stored)) assert.ok(isSealed(v), `stored in the clear: ${String(v)}`);
      }),
      { numRuns: 1000 },
    );
  });

  test('token creation takes any body without a 5xx, and makes a token only of a valid name and role (1000 cases)', async () => {
    const before = (await platform.store.listTokens()).length;
    let made = 0;
    const body = fc.oneof(
      fc.record({ name: fc.string({ maxLength: 120 }), role: fc.constantFrom('viewer', 'invoker', 'editor', 'admin', 'root', ''), project: fc.option(fc.constantFrom('p', 'nope', ''), { nil: undefined }) }, { requiredKeys: [] }),
      fc.jsonValue(),
    );
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const res = await call('POST', '/tokens', b);
        assert.ok(res.status < 500, `${res.status} ${res.text} for ${JSON.stringify(b)}`);
        assert.ok(!res.text.includes('scrypt'), 'never a hash');
        if (res.status === 201) {
          made++;
          const t = JSON.parse(res.text) as { token: string; name: string; role: string; project: string | null };
          assert.match(t.token, /^mwt_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
          const o = b as { name: string; role: string; project?: string };
          assert.ok(['viewer', 'invoker', 'editor', 'admin'].includes(o.role));
          assert.ok(/^[\p{L}\p{N} ._@+-]{1,100}$/u.test(o.name), `made a token named ${JSON.stringify(o.name)}`);
          assert.equal(t.project, o.project ?? null);
          assert.notEqual(o.project, 'nope', 'never for a project that does not exist');
        }
      }),
      { numRuns: 1000 },
    );
    assert.equal((await platform.store.listTokens()).length, before + made);
    assert.ok(made > 0, 'some bodies were valid');
  });
});
