import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ConflictError, InvokeError, ModelError, NotFoundError, ValidationError, type ModelwatchError } from '../../src/common/errors.ts';
import { connect } from '../../src/project/client.ts';
import { Modelwatch } from '../../src/project/modelwatch.ts';
import type { Platform } from '../../src/project/platform.ts';
import { Supervisor } from '../../src/server/supervisor.ts';
import { childEnv, openPlatform, startServer, tempHome } from './helpers.ts';

/*
 * One list of misuses, run against embedded mode (Modelwatch.open) and connected mode (connect()
 * to a real server whose supervisor runs functions as worker processes): each must fail with the
 * same error class, code and message in both.
 */

const SUM_MODEL = `export class SumModel {
  predict(rows) {
    if (rows.some((r) => r[0] === -1)) throw new Error('cannot sum a row starting with -1');
    return rows.map((r) => r.reduce((a, b) => a + b, 0));
  }
}
`;
const CARS_MODEL = `export class CarsModel {
  constructor(init) { if (!init.modelFile) throw new Error('CarsModel needs modelUri'); }
  predict(rows) { return rows.map(() => 0); }
}
`;

/** The calls the misuses make, which both modes offer with the same names and arguments. */
interface Sdk {
  createProject(name: string): Promise<unknown>;
  getProject(name: string): Promise<unknown>;
}
interface ProjectSdk {
  logModel(key: string, opts: unknown): Promise<unknown>;
  getModel(key: string): Promise<unknown>;
  getFunction(name: string): Promise<unknown>;
  setFunction(name: string): Promise<{ addModel(name: string, opts: { modelPath: string; className: string }): unknown }>;
  deployFunction(fn: unknown, opts?: { timeoutSeconds?: number }): Promise<unknown>;
  invoke(fn: string, path: string, body?: unknown): Promise<unknown>;
  setModelMonitoringFunction(opts: unknown): Promise<unknown>;
  removeModelMonitoringFunction(name: string): Promise<void>;
  enableModelMonitoring(opts: unknown): Promise<unknown>;
  updateModelMonitoringController(opts: { basePeriod: number }): Promise<void>;
  setModelMonitoringCredentials(creds: unknown): Promise<unknown>;
  getModelEndpoint(id: string): Promise<unknown>;
}

interface Misuse {
  what: string;
  expect: abstract new (...args: never[]) => ModelwatchError;
  run: (sdk: Sdk, project: ProjectSdk, dir: string) => Promise<unknown>;
}

const ROWS = Array.from({ length: 30 }, (_, i) => ({ a: i % 7, b: (i * 3) % 5, y: i % 2 }));

const MISUSES: Misuse[] = [
  { what: 'an unknown project', expect: NotFoundError, run: (sdk) => sdk.getProject('nope') },
  { what: 'a project name that is not valid', expect: ValidationError, run: (sdk) => sdk.createProject('Not Valid') },
  { what: 'a project that exists', expect: ConflictError, run: (sdk) => sdk.createProject('misuse') },
  { what: 'logModel without a training set', expect: ValidationError, run: (_, p) => p.logModel('m', { labelColumn: 'y' }) },
  { what: 'logModel with a bad key', expect: ValidationError, run: (_, p) => p.logModel('bad key', { trainingSet: ROWS }) },
  { what: 'logModel with a label column not in the training set', expect: ValidationError, run: (_, p) => p.logModel('m', { trainingSet: ROWS, labelColumn: 'nope' }) },
  { what: 'an unknown model', expect: NotFoundError, run: (_, p) => p.getModel('nope') },
  { what: 'an unknown function', expect: NotFoundError, run: (_, p) => p.getFunction('nope') },
  { what: 'an unknown model endpoint', expect: NotFoundError, run: (_, p) => p.getModelEndpoint('0123456789abcdef') },
  { what: 'a misspelt built-in app', expect: ValidationError, run: (_, p) => p.setModelMonitoringFunction({ name: 'drift', application: 'data-drift-reprt' }) },
  { what: 'a built-in app with a className', expect: ValidationError, run: (_, p) => p.setModelMonitoringFunction({ name: 'drift', application: 'data-drift-report', className: 'X' }) },
  { what: 'a reserved function name', expect: ValidationError, run: (_, p) => p.setModelMonitoringFunction({ name: 'model-monitoring-writer', application: 'data-drift-report' }) },
  { what: 'removing an unknown monitoring function', expect: NotFoundError, run: (_, p) => p.removeModelMonitoringFunction('nope') },
  { what: 'removing a serving function as a monitoring function', expect: NotFoundError, run: (_, p) => p.removeModelMonitoringFunction('sum') },
  { what: 'a base period of 0', expect: ValidationError, run: (_, p) => p.enableModelMonitoring({ basePeriod: 0 }) },
  { what: 'a base period that is no whole number', expect: ValidationError, run: (_, p) => p.enableModelMonitoring({ basePeriod: 2.5 }) },
  { what: 'changing the controller while monitoring is off', expect: ConflictError, run: (_, p) => p.updateModelMonitoringController({ basePeriod: 5 }) },
  { what: 'a stream URL of an unknown scheme', expect: ValidationError, run: (_, p) => p.setModelMonitoringCredentials({ streamPath: 'ftp://host/x' }) },
  { what: 'changing credentials without replace', expect: ConflictError, run: (_, p) => p.setModelMonitoringCredentials({ streamPath: 'nats://127.0.0.1:4999' }) },
  { what: 'invoking an unknown function', expect: NotFoundError, run: (_, p) => p.invoke('nope', '/v2/models/sum/infer', { inputs: [[1, 2]] }) },
  { what: 'invoking a monitoring app', expect: ValidationError, run: (_, p) => p.invoke('drift-ok', '/v2/models/sum/infer', { inputs: [[1, 2]] }) },
  { what: 'invoking a model the function does not serve', expect: InvokeError, run: (_, p) => p.invoke('sum', '/v2/models/nope/infer', { inputs: [[1, 2]] }) },
  { what: 'invoking with a bad body', expect: InvokeError, run: (_, p) => p.invoke('sum', '/v2/models/sum/infer', { inputs: 'rows' }) },
  { what: 'invoking a model that throws', expect: InvokeError, run: (_, p) => p.invoke('sum', '/v2/models/sum/infer', { inputs: [[-1, 2]] }) },
  { what: 'deploying with a timeout of 0', expect: ValidationError, run: (_, p) => p.deployFunction('sum', { timeoutSeconds: 0 }) },
  {
    what: 'deploying a model that cannot start',
    expect: ModelError,
    run: async (_, p, dir) => {
      const fn = await p.setFunction('cars');
      fn.addModel('cars', { modelPath: path.join(dir, 'cars-model.mjs'), className: 'CarsModel' });
      return p.deployFunction(fn);
    },
  },
];

/** What the same setup gives both modes: a project, a logged model, a running serving function, an app, credentials. */
async function setUp(sdk: Sdk, dir: string): Promise<ProjectSdk> {
  const p = (await sdk.createProject('misuse')) as ProjectSdk;
  await p.logModel('cars', { trainingSet: ROWS, labelColumn: 'y' });
  const fn = await p.setFunction('sum');
  fn.addModel('sum', { modelPath: path.join(dir, 'sum-model.mjs'), className: 'SumModel' });
  await p.deployFunction(fn);
  await p.setModelMonitoringFunction({ name: 'drift-ok', application: 'data-drift-report' });
  await p.setModelMonitoringCredentials({ streamPath: 'nats://127.0.0.1:4222' });
  return p;
}

interface Outcome {
  class: string;
  code: string;
  message: string;
}

async function outcomes(sdk: Sdk, project: ProjectSdk, dir: string): Promise<Outcome[]> {
  const out: Outcome[] = [];
  for (const m of MISUSES) {
    try {
      await m.run(sdk, project, dir);
      out.push({ class: 'no error', code: '', message: '' });
    } catch (err) {
      assert.ok(err instanceof m.expect, `${m.what}: ${(err as Error).name}: ${(err as Error).message}`);
      out.push({ class: err.constructor.name, code: err.code, message: err.message });
    }
  }
  return out;
}

describe('the same misuse fails alike in embedded and connected mode', { timeout: 180_000 }, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let embedded: Modelwatch;
  let platform: Platform;
  let app: FastifyInstance;
  let supervisor: Supervisor;
  let connectedUrl: string;

  before(async () => {
    ({ home: dir, cleanup } = await tempHome('mw-parity-'));
    await fs.writeFile(path.join(dir, 'sum-model.mjs'), SUM_MODEL);
    await fs.writeFile(path.join(dir, 'cars-model.mjs'), CARS_MODEL);
    embedded = await Modelwatch.open({ home: path.join(dir, 'embedded'), background: false, logLevel: 'silent' });
    // The models' folder is the server's code root (the homes inside it stay data).
    platform = await openPlatform(path.join(dir, 'server'), { codeRoots: [dir] });
    const s = await startServer(platform);
    app = s.app;
    supervisor = new Supervisor(platform, { pollMs: 200, env: childEnv(), onOutput: () => undefined });
    supervisor.start();
    await supervisor.firstPass;
    connectedUrl = s.url;
  });

  after(async () => {
    await embedded.close();
    await supervisor.stop();
    await app.close();
    await platform.close();
    await cleanup();
  });

  test('every misuse of the list: same class, code and message', async () => {
    const local = await outcomes(embedded as unknown as Sdk, await setUp(embedded as unknown as Sdk, dir), dir);
    const client = connect({ url: connectedUrl });
    const remote = await outcomes(client as unknown as Sdk, await setUp(client as unknown as Sdk, dir), dir);
    const differ = MISUSES.flatMap((m, i) => (JSON.stringify(remote[i]) === JSON.stringify(local[i]) ? [] : [{ what: m.what, embedded: local[i], connected: remote[i] }]));
    assert.deepEqual(differ, []);
    // Spot checks that the shared answers are the ones meant.
    const by = (what: string): Outcome => local[MISUSES.findIndex((m) => m.what === what)]!;
    assert.deepEqual(by('an unknown project'), { class: 'NotFoundError', code: 'not_found', message: "project 'nope' was not found" });
    assert.equal(by('logModel without a training set').message, 'logModel needs trainingSet (rows, columns, CSV, JSON lines or Parquet)');
    assert.equal(by('a misspelt built-in app').message, "application 'data-drift-reprt' is neither a built-in app (histogram-data-drift, data-drift-report) nor a module file; name a file such as ./apps/my-app.js");
    assert.deepEqual(by('invoking a model the function does not serve'), {
      class: 'InvokeError',
      code: 'invoke_failed',
      message: "sum /v2/models/nope/infer → 404: model 'nope' is not served by function 'sum'",
    });
    assert.equal(by('invoking a model that throws').message, "sum /v2/models/sum/infer → 500: model 'sum' failed: cannot sum a row starting with -1");
    assert.deepEqual(by('deploying a model that cannot start'), { class: 'ModelError', code: 'model_error', message: "model 'CarsModel' failed: CarsModel needs modelUri" });
  });
});
