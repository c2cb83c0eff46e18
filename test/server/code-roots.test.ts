import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ValidationError } from '../../src/common/errors.ts';
import { connect, type RemoteProject } from '../../src/project/client.ts';
import { Modelwatch } from '../../src/project/modelwatch.ts';
import type { Platform } from '../../src/project/platform.ts';
import { Supervisor } from '../../src/server/supervisor.ts';
import type { FunctionRecord } from '../../src/store/port.ts';
import { childEnv, openPlatform, runCli, startServer } from './helpers.ts';

/*
 * No code runs on the server unless its operator put it in a code root. The attack of issue 23
 * (upload a model file, name it as a serving function's modelPath, deploy: it ran as the server's
 * user) and its variants, against a real server whose supervisor runs real worker processes.
 * Each would-be model or app writes a file when imported; none may appear.
 */

/** A module that, once imported, leaves `marker` behind. */
const evilModule = (marker: string): string =>
  `import fs from 'node:fs';\nfs.writeFileSync(${JSON.stringify(marker)}, 'ran');\n` +
  'export default class Evil { predict(rows) { return rows.map(() => 1); } doTracking() { return []; } }\n';

const SUM_MODEL = 'export class SumModel { predict(rows) { return rows.map((r) => r.reduce((a, b) => a + b, 0)); } }\n';
const ROWS = [{ a: 1, b: 2 }, { a: 3, b: 4 }];

describe('code roots: a server loads code only from the folders its operator named', { timeout: 240_000 }, () => {
  let sandbox: string;
  let home: string;
  let code: string;
  let outside: string;
  let platform: Platform;
  let app: FastifyInstance;
  let supervisor: Supervisor;
  let url: string;
  let project: RemoteProject;
  const markers: string[] = [];

  /** A module outside the code root that leaves a marker when imported. */
  const evilFile = (name: string, dir = outside): string => {
    const marker = path.join(sandbox, `ran-${name}`);
    markers.push(marker);
    const file = path.join(dir, name);
    fs.writeFileSync(file, evilModule(marker));
    return file;
  };
  const put = async (name: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await fetch(`${url}/api/v1/projects/roots/functions/${name}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  /** Registers a function by writing its record to the store, past every check of the API (as records written by other means would be). */
  const putRecord = async (name: string, kind: FunctionRecord['kind'], spec: Record<string, unknown>): Promise<void> => {
    const now = Date.now();
    await platform.store.putFunction({ project: 'roots', name, kind, spec, labels: {}, deployed: false, status: { state: 'not-deployed' }, createdAt: now, updatedAt: now });
  };
  const refusedByRoots = (err: unknown): boolean => {
    assert.ok(err instanceof ValidationError, `${(err as Error).name}: ${String(err)}`);
    assert.equal(err.httpStatus, 400);
    assert.ok(err.message.includes(`is refused: `) && err.message.includes(`This server loads code only from its code roots (${code})`), err.message);
    return true;
  };

  before(async () => {
    sandbox = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'mw-code-roots-')));
    home = path.join(sandbox, 'home');
    code = path.join(sandbox, 'code');
    outside = path.join(sandbox, 'outside');
    fs.mkdirSync(code);
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(code, 'sum-model.mjs'), SUM_MODEL);
    platform = await openPlatform(home, { codeRoots: [code] });
    ({ app, url } = await startServer(platform));
    supervisor = new Supervisor(platform, { pollMs: 200, initialBackoffMs: 60_000, env: childEnv(), onOutput: () => undefined });
    supervisor.start();
    await supervisor.firstPass;
    project = await connect({ url }).createProject('roots');
  });

  after(async () => {
    await supervisor?.stop();
    await app?.close();
    await platform?.close();
    fs.rmSync(sandbox, { recursive: true, force: true });
  });

  test('a module in a code root is served (the supervisor hands its roots to the worker, whose own default would be its working folder)', async () => {
    const fn = await project.setFunction('sum');
    fn.addModel('sum', { modelPath: path.join(code, 'sum-model.mjs'), className: 'SumModel' });
    await project.deployFunction(fn);
    const out = (await fn.invoke('/v2/models/sum/infer', { inputs: [[1, 2]] })) as { outputs: { data: number[] }[] };
    assert.deepEqual(out.outputs[0]!.data, [3]);
  });

  test('a relative modelPath is taken from the code roots, not from the client\'s working folder, and stored where it lies', async () => {
    assert.notEqual(process.cwd(), code);
    const fn = await project.setFunction('sum-relative');
    fn.addModel('sum', { modelPath: 'sum-model.mjs', className: 'SumModel' });
    await project.deployFunction(fn);
    const out = (await fn.invoke('/v2/models/sum/infer', { inputs: [[2, 5]] })) as { outputs: { data: number[] }[] };
    assert.deepEqual(out.outputs[0]!.data, [7]);
    const stored = await platform.store.getFunction('roots', 'sum-relative');
    assert.equal((stored!.spec as { models: { modelPath: string }[] }).models[0]!.modelPath, path.join(code, 'sum-model.mjs'));
    // A relative path that leaves the roots is refused like any other.
    const out2 = await project.setFunction('sum-up');
    out2.addModel('sum', { modelPath: '../outside/evil.mjs', className: 'SumModel' });
    await assert.rejects(project.deployFunction(out2), /is outside the code roots/);
  });

  test('an uploaded model file is data: naming it as modelPath is refused, and a record that names it anyway does not load', async () => {
    const model = await project.logModel('evil', { trainingSet: ROWS, modelFile: evilFile('evil-upload.mjs') });
    const uploaded = path.join(home, 'artifacts', model.modelFile!);
    assert.ok(fs.existsSync(uploaded), 'the upload is kept, as data');

    const r = await put('evil', { kind: 'serving', spec: { models: [{ name: 'm', modelPath: uploaded }] } });
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'validation_error');
    assert.match(String(r.body.message), /^modelPath '.*evil-upload\.mjs' is refused: it lies in the artifact path, where uploaded files are kept as data\. This server loads code only from its code roots \(.*\/code\)/);
    // The function's source module and a model by URI with the upload as source: the same.
    assert.equal((await put('evil', { kind: 'serving', spec: { source: uploaded, models: [{ name: 'm', modelUri: model.uri, className: 'Evil' }] } })).status, 400);

    // Past the API: the worker refuses it before importing it, and says why.
    await putRecord('evil', 'serving', { models: [{ name: 'm', modelPath: uploaded }], tracking: { enabled: false, samplingPercentage: 100 } });
    await assert.rejects(project.deployFunction('evil'), refusedByRoots);
    const f = await project.getFunction('evil');
    assert.equal(f.status.state, 'crashed');
    assert.equal(f.status.lastErrorCode, 'validation_error');
    await project.undeployFunction('evil');
  });

  test('modules outside the roots, reached by path, by traversal or through a symlink in a root, are refused; so are apps', async () => {
    const evil = evilFile('evil.mjs');
    fs.symlinkSync(evil, path.join(code, 'link.mjs'));
    for (const modelPath of [evil, path.join(code, '..', 'outside', 'evil.mjs'), path.join(code, 'link.mjs')]) {
      const r = await put('outside', { kind: 'serving', spec: { models: [{ name: 'm', modelPath }] } });
      assert.equal(r.status, 400, modelPath);
      assert.match(String(r.body.message), /is outside the code roots/, modelPath);
      assert.deepEqual((r.body.details as { codeRoots: string[] }).codeRoots, [code]);
    }
    const app1 = await put('evil-app', { kind: 'monitoring-application', application: evilFile('evil-app.mjs') });
    assert.equal(app1.status, 400);
    assert.match(String(app1.body.message), /^application '.*evil-app\.mjs' is refused: it is outside the code roots/);

    await putRecord('outside', 'serving', { models: [{ name: 'm', modelPath: path.join(code, 'link.mjs') }], tracking: { enabled: false, samplingPercentage: 100 } });
    await assert.rejects(project.deployFunction('outside'), refusedByRoots);
    await project.undeployFunction('outside');
    await putRecord('evil-app', 'monitoring-application', { application: path.join(outside, 'evil-app.mjs'), options: {} });
    await assert.rejects(project.deployFunction('evil-app'), refusedByRoots);
    await project.undeployFunction('evil-app');
  });

  test('the data-drift-report app reads its referencePath only from the artifact path', async () => {
    fs.writeFileSync(path.join(outside, 'secret.csv'), 'password\nhunter2\n');
    const bad = await put('report', { kind: 'monitoring-application', application: 'data-drift-report', options: { referencePath: path.join(outside, 'secret.csv') } });
    assert.equal(bad.status, 400);
    assert.match(String(bad.body.message), /^referencePath '.*secret\.csv' is refused: it is outside the artifact path\. A server reads data files only from its artifact path \(/);
    assert.equal((await put('report', { kind: 'monitoring-application', application: 'data-drift-report', options: { referencePath: '../modelwatch.db' } })).status, 400);
    const ok = await put('report', { kind: 'monitoring-application', application: 'data-drift-report', options: { referencePath: 'refs/reference.csv' } });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));

    await putRecord('report', 'monitoring-application', { builtin: 'data-drift-report', options: { referencePath: path.join(outside, 'secret.csv') } });
    await assert.rejects(project.deployFunction('report'), (err: unknown) => err instanceof ValidationError && /referencePath .* is outside the artifact path/.test(err.message));
    await project.undeployFunction('report');
  });

  test('no refused module ran', () => {
    for (const m of markers) assert.ok(!fs.existsSync(m), `${m} exists: the module ran`);
  });

  test('embedded mode (your own process) loads what you name, from anywhere', async () => {
    const marker = path.join(sandbox, 'ran-embedded');
    const file = path.join(outside, 'mine.mjs');
    fs.writeFileSync(file, evilModule(marker));
    const mw = await Modelwatch.open({ home: path.join(sandbox, 'embedded'), background: false, logLevel: 'silent' });
    try {
      const p = await mw.createProject('mine');
      const fn = await p.setFunction('mine');
      fn.addModel('m', { modelPath: file });
      await p.deployFunction(fn);
      assert.ok(fs.existsSync(marker), 'the module was imported');
    } finally {
      await mw.close();
    }
  });

  test('`up` and `worker` take --code-root and refuse a root that is missing or lies in the home or artifact path', async () => {
    const h = path.join(sandbox, 'cli-home');
    fs.mkdirSync(path.join(h, 'artifacts'), { recursive: true });
    const up = ['up', '--port', '0'];
    const worker = ['worker', '--project', 'roots', '--function', 'sum'];
    // Each rule is checked in src/common/code-roots.test.ts; here, that both commands take the option and apply them.
    const runs: [string[], string, RegExp][] = [
      [up, path.join(h, 'artifacts'), /^error: code root '.*' lies in the artifact path, where uploaded files are kept as data/],
      [worker, path.join(sandbox, 'missing'), /^error: code root '.*missing' does not exist/],
    ];
    await Promise.all(
      runs.map(async ([args, root, why]) => {
        const r = await runCli(['--home', h, ...args, '--code-root', code, '--code-root', root]);
        assert.equal(r.code, 1, `${args[0]} ${root}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, why);
      }),
    );
  });
});
