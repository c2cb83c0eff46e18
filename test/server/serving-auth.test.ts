import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ValidationError } from '../../src/common/errors.ts';
import { Modelwatch } from '../../src/project/modelwatch.ts';
import type { Project } from '../../src/project/project.ts';
import { createServer } from '../../src/server/app.ts';
import { issueTestToken, tempHome } from './helpers.ts';

/*
 * A serving function that requires a token answers only callers with a token of its project (or of
 * no project) whose role may invoke; its health checks stay open. Listening beyond this machine
 * needs it, whether the spec comes over REST or from the SDK.
 */

class Doubler {
  predict(rows: unknown[][]): number[] {
    return rows.map((r) => 2 * Number(r[0]));
  }
}

describe('serving functions that require a token', { timeout: 120_000 }, () => {
  let mw: Modelwatch;
  let project: Project;
  let app: FastifyInstance;
  let api: string;
  let address: string;
  let cleanup: () => Promise<void>;
  const tokens: Record<string, string> = {};

  const infer = async (token?: string, base = address) => {
    const res = await fetch(`${base}/v2/models/m/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ inputs: [[1], [2]] }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  before(async () => {
    const t = await tempHome('mw-serving-auth-');
    cleanup = t.cleanup;
    mw = await Modelwatch.open({ home: t.home, logLevel: 'silent' });
    project = await mw.createProject('p');
    await mw.createProject('other');
    const fn = await project.setFunction('serve');
    fn.addModel('m', { model: Doubler }).requireToken();
    const rec = await project.deployFunction(fn);
    assert.equal(rec.spec.requireToken, true);
    address = (await project.getFunction('serve')).status.address!;
    tokens.invoker = await issueTestToken(mw.platform, 'invoker', { project: 'p' });
    tokens.editor = await issueTestToken(mw.platform, 'editor');
    tokens.viewer = await issueTestToken(mw.platform, 'viewer', { project: 'p' });
    tokens.otherInvoker = await issueTestToken(mw.platform, 'invoker', { project: 'other' });
    app = createServer({ platform: mw.platform, logger: false });
    api = await app.listen({ host: '127.0.0.1', port: 0 });
  });

  after(async () => {
    await app.close();
    await mw.close();
    await cleanup();
  });

  test('answers an invoker or editor of its project, refuses the rest, keeps health open', async () => {
    assert.equal((await fetch(`${address}/v2/health/ready`)).status, 200);
    assert.equal((await fetch(`${address}/v2/health/live`)).status, 200);
    const none = await infer();
    assert.equal(none.status, 401);
    assert.match(String(none.body.message), /Bearer/);
    assert.equal((await infer(`mwt_${'1'.repeat(16)}_${'x'.repeat(43)}`)).status, 401);
    assert.equal((await fetch(`${address}/v2/models/m`)).status, 401, 'metadata too');
    const viewer = await infer(tokens.viewer);
    assert.equal(viewer.status, 403);
    assert.match(String(viewer.body.message), /may not invoke/);
    const other = await infer(tokens.otherInvoker);
    assert.equal(other.status, 403);
    assert.match(String(other.body.message), /reaches project 'other' only/);
    for (const who of ['invoker', 'editor']) {
      const ok = await infer(tokens[who]);
      assert.equal(ok.status, 200, `${who}: ${JSON.stringify(ok.body)}`);
      assert.deepEqual((ok.body.outputs as { data: number[] }[])[0]!.data, [2, 4]);
    }
  });

  test('refused requests are neither served nor counted on the endpoint', async () => {
    const worker = mw.runtime.worker('p', 'serve') as unknown as { server: { stats(): { requests: number; errors: number } } } | undefined;
    assert.ok(worker);
    const before = worker.server.stats();
    for (let i = 0; i < 5; i++) assert.equal((await infer()).status, 401);
    assert.equal((await infer(tokens.viewer)).status, 403);
    assert.deepEqual(worker.server.stats(), before, 'a refusal reaches no model and is no endpoint error');
    assert.equal((await infer(tokens.invoker)).status, 200);
    assert.equal(worker.server.stats().requests, before.requests + 1);
  });

  test('the API passes the caller\'s token on when invoking; a role that may not invoke is refused there', async () => {
    const call = (token: string) =>
      fetch(`${api}/api/v1/projects/p/functions/serve/invoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ path: '/v2/models/m/infer', body: { inputs: [[5]] } }),
      });
    const ok = await call(tokens.invoker!);
    assert.equal(ok.status, 200, await ok.clone().text());
    assert.deepEqual(((await ok.json()) as { outputs: { data: number[] }[] }).outputs[0]!.data, [10]);
    assert.equal((await call(tokens.viewer!)).status, 403);
    // In-process (no token given), the function itself refuses.
    await assert.rejects(project.invoke('serve', '/v2/models/m/infer', { inputs: [[1]] }), (e: unknown) => (e as { status?: number }).status === 401);
    const out = (await project.invoke('serve', '/v2/models/m/infer', { inputs: [[1]] }, { token: tokens.invoker! })) as { outputs: { data: number[] }[] };
    assert.deepEqual(out.outputs[0]!.data, [2]);
  });

  test('a host beyond this machine needs requireToken, over REST and in the SDK', async () => {
    const put = (spec: Record<string, unknown>) =>
      fetch(`${api}/api/v1/projects/p/functions/open`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.editor!}` },
        body: JSON.stringify({ kind: 'serving', spec: { models: [{ name: 'm', modelPath: `${process.cwd()}/m.js` }], ...spec } }),
      });
    for (const host of ['0.0.0.0', '::', '10.1.2.3', 'example.com']) {
      const res = await put({ host });
      assert.equal(res.status, 400, host);
      assert.match(((await res.json()) as { message: string }).message, /requireToken/);
    }
    assert.equal((await put({ host: '127.0.0.1' })).status, 200);
    assert.equal((await put({ host: '0.0.0.0', requireToken: true })).status, 200);
    const fn = await project.setFunction('open2');
    fn.spec.host = '0.0.0.0';
    fn.addModel('m', { model: Doubler });
    await assert.rejects(project.deployFunction(fn), ValidationError);
    assert.equal((await mw.platform.store.getFunction('p', 'open2')), undefined, 'nothing was saved');
  });
});
