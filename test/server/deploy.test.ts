import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { DeployTimeoutError, ModelError, NotRunningError } from '../../src/common/errors.ts';
import { connect, type RemoteProject } from '../../src/project/client.ts';
import type { Platform } from '../../src/project/platform.ts';
import { Supervisor } from '../../src/server/supervisor.ts';
import { childEnv, openPlatform, runCli, startServer, tempHome } from './helpers.ts';

const SUM_MODEL = `export class SumModel {
  predict(rows) { return rows.map((r) => r.reduce((a, b) => a + b, 0)); }
}
`;
// Needs the logged model's file, as a model served without its modelUri would not have it.
const CARS_MODEL = `export class CarsModel {
  constructor(init) { if (!init.modelFile) throw new Error('CarsModel needs modelUri'); }
  predict(rows) { return rows.map(() => 0); }
}
`;

describe('deployFunction over REST returns once the function serves, or throws its own error', { timeout: 180_000 }, () => {
  let platform: Platform;
  let app: FastifyInstance;
  let supervisor: Supervisor;
  let home: string;
  let code: string;
  let url: string;
  let cleanup: () => Promise<void>;
  let cleanupCode: () => Promise<void>;
  let project: RemoteProject;

  before(async () => {
    ({ home, cleanup } = await tempHome('mw-deploy-'));
    // The models' folder is the server's code root (a module in the home would be refused).
    ({ home: code, cleanup: cleanupCode } = await tempHome('mw-deploy-code-'));
    platform = await openPlatform(home, { codeRoots: [code] });
    ({ app, url } = await startServer(platform));
    supervisor = new Supervisor(platform, { pollMs: 200, initialBackoffMs: 500, env: childEnv(), onOutput: () => undefined });
    supervisor.start();
    await supervisor.firstPass;
    project = await connect({ url }).createProject('deploy');
    await fs.writeFile(path.join(code, 'sum-model.mjs'), SUM_MODEL);
    await fs.writeFile(path.join(code, 'cars-model.mjs'), CARS_MODEL);
  });

  after(async () => {
    await supervisor.stop();
    await app.close();
    await platform.close();
    await cleanup();
    await cleanupCode();
  });

  test('a serving function answers the first invoke after deployFunction, with no waiting of its own', async () => {
    const fn = await project.setFunction('sum');
    fn.addModel('sum', { modelPath: path.join(code, 'sum-model.mjs'), className: 'SumModel' });
    const rec = await project.deployFunction(fn);
    assert.equal(rec.status.state, 'running');
    assert.match(rec.status.address ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(rec.status.version, rec.updatedAt, 'the running state is this deploy\'s');
    const out = (await fn.invoke('/v2/models/sum/infer', { inputs: [[1, 2], [3, 4]] })) as { outputs: { data: number[] }[] };
    assert.deepEqual(out.outputs[0]!.data, [3, 7]);
  });

  test('a model that cannot start: deploy throws its error, invoke and `functions list` say it crashed and why', async () => {
    const fn = await project.setFunction('cars');
    fn.addModel('cars', { modelPath: path.join(code, 'cars-model.mjs'), className: 'CarsModel' });
    await assert.rejects(project.deployFunction(fn), (err: unknown) => {
      assert.ok(err instanceof ModelError, `${(err as Error).name}: ${String(err)}`);
      assert.equal(err.code, 'model_error');
      assert.equal(err.message, "model 'CarsModel' failed: CarsModel needs modelUri");
      return true;
    });
    const rec = await project.getFunction('cars');
    assert.equal(rec.deployed, true, 'it stays deployed: the supervisor keeps retrying it');
    assert.equal(rec.status.state, 'crashed');
    assert.equal(rec.status.lastError, "model 'CarsModel' failed: CarsModel needs modelUri");
    assert.equal(rec.status.lastErrorCode, 'model_error');

    await assert.rejects(fn.invoke('/v2/models/cars/infer', { inputs: [[1]] }), (err: unknown) => {
      assert.ok(err instanceof NotRunningError, String(err));
      assert.equal(err.httpStatus, 503);
      assert.match(err.message, /^serving function 'cars' (is not running: its worker crashed|is still starting)/);
      assert.match(err.message, /last error: model 'CarsModel' failed: CarsModel needs modelUri/);
      assert.doesNotMatch(err.message, /deploy it first/);
      return true;
    });

    const list = await runCli(['--url', url, 'functions', 'list', '--project', 'deploy']);
    assert.equal(list.code, 0, list.stderr);
    const header = list.stdout.split('\n')[0]!;
    assert.match(header, /^NAME\s+KIND\s+STATE\s+PID\s+RESTARTS\s+ADDRESS\s+UPDATED\s+LAST ERROR$/);
    const cars = list.stdout.split('\n').find((l) => l.startsWith('cars '));
    assert.match(cars ?? '', /\b(crashed|starting)\b.*model 'CarsModel' failed: CarsModel needs modelUri$/);
    assert.match(list.stdout, /^sum\s+serving\s+running\s+\d+\s+0\s+http:\/\/127\.0\.0\.1:\d+/m);
  });

  test('`functions deploy` waits and prints where the function runs; the error of one that cannot start is the command\'s', async () => {
    const good = await runCli(['--url', url, 'functions', 'deploy', 'sum', '--project', 'deploy']);
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /^deployed 'sum': running at http:\/\/127\.0\.0\.1:\d+$/m);
    const bad = await runCli(['--url', url, 'functions', 'deploy', 'cars', '--project', 'deploy']);
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr, "error: model 'CarsModel' failed: CarsModel needs modelUri\n");
  });

  test('a deploy that is not running by its timeout says so; the function stays deployed', async () => {
    const fn = await project.setFunction('slow');
    fn.addModel('sum', { modelPath: path.join(code, 'sum-model.mjs'), className: 'SumModel' });
    // A worker process takes seconds to start: far more than this.
    await assert.rejects(project.deployFunction(fn, { timeoutSeconds: 0.05 }), (err: unknown) => {
      assert.ok(err instanceof DeployTimeoutError, String(err));
      assert.match(err.message, /^function 'slow' did not report running within 0\.05 s \(state: starting\)/);
      return true;
    });
    assert.equal((await project.getFunction('slow')).deployed, true);
  });
});
