import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ModelwatchError } from '../../src/common/errors.ts';
import { connect, type RemoteClient } from '../../src/project/client.ts';
import type { Platform } from '../../src/project/platform.ts';
import { issueTestToken, openPlatform, startServer, tempHome } from './helpers.ts';

const APP_MODULE = fileURLToPath(new URL('../../src/apps/histogram-data-drift.ts', import.meta.url));

async function rejectsWith(p: Promise<unknown>, code: string, status: number): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ModelwatchError, `not a ModelwatchError: ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(err.httpStatus, status);
    return true;
  });
}

describe('connect(): the SDK over REST', () => {
  let platform: Platform;
  let app: FastifyInstance;
  let home: string;
  let cleanup: () => Promise<void>;
  let client: RemoteClient;
  let baseUrl: string;

  before(async () => {
    ({ home, cleanup } = await tempHome());
    platform = await openPlatform(home);
    const token = await issueTestToken(platform, 'admin', { name: 'sdk' });
    const s = await startServer(platform);
    app = s.app;
    baseUrl = s.url;
    client = connect({ url: `${s.url}/`, token });
  });

  after(async () => {
    await app.close();
    await platform.close();
    await cleanup();
  });

  test('projects and monitoring mirror the embedded SDK', async () => {
    const p = await client.createProject('remote', { description: 'over http' });
    assert.equal(p.name, 'remote');
    assert.equal((await client.getOrCreateProject('remote')).name, 'remote');
    assert.equal((await client.getOrCreateProject('other')).name, 'other');
    assert.deepEqual((await client.listProjects()).map((x) => x.name).sort(), ['other', 'remote']);

    const settings = await p.enableModelMonitoring({ basePeriod: 1 });
    assert.equal(settings?.basePeriodMinutes, 1);
    const apps = await p.listModelMonitoringFunctions();
    assert.deepEqual(apps.map((f) => f.name), ['histogram-data-drift']);
    assert.equal((await p.listFunctions()).length, 4);
  });

  test('monitoring apps are named by module file; classes cannot travel', async () => {
    const p = await client.getProject('remote');
    const fn = p.createModelMonitoringFunction({ name: 'drift-copy', application: APP_MODULE, className: 'HistogramDataDriftApplication', labels: { team: 'ml' } });
    // Nothing runs deployed functions here (no supervisor): waiting for it would be waiting forever.
    await rejectsWith(p.deployFunction(fn), 'no_supervisor', 503);
    assert.equal((await p.getFunction('drift-copy')).deployed, false, 'registered, not marked deployed');
    const deployed = await p.deployFunction(fn, { wait: false });
    assert.equal(deployed.deployed, true);
    assert.equal((deployed.spec as { application: string }).application, APP_MODULE);
    assert.deepEqual((await p.listModelMonitoringFunctions({ labels: { team: 'ml' } })).map((f) => f.name), ['drift-copy']);

    class Local {}
    await assert.rejects(p.setModelMonitoringFunction({ name: 'local', application: Local as never }), /module file/);
    assert.throws(() => p.createModelMonitoringFunction({ name: 'model-monitoring-writer', application: APP_MODULE }), /reserved/);

    await p.removeModelMonitoringFunction('drift-copy');
    await rejectsWith(p.getFunction('drift-copy'), 'not_found', 404);
    await rejectsWith(p.removeModelMonitoringFunction('model-monitoring-stream'), 'not_found', 404);
  });

  test('logModel reads a local training file and uploads the model file', async () => {
    const p = await client.getProject('remote');
    const csv = path.join(home, 'train.csv');
    await fs.writeFile(csv, ['x,y,label', ...Array.from({ length: 30 }, (_, i) => `${i},${(i * 3) % 7},${i % 2}`)].join('\n'));
    const modelFile = path.join(home, 'weights.bin');
    await fs.writeFile(modelFile, Buffer.from([1, 2, 3, 4]));
    const m = await p.logModel('clf', { trainingSet: { path: csv }, labelColumn: 'label', modelFile, tag: 'v2' });
    assert.deepEqual(m.featureNames, ['x', 'y']);
    assert.equal(m.uri, 'store://models/remote/clf:v2');
    assert.ok(m.modelFile?.endsWith('weights.bin'));
    const stored = await fs.readFile(path.join(platform.options.artifactPath, m.modelFile!));
    assert.deepEqual([...stored], [1, 2, 3, 4]);
    assert.equal((await p.getModel('clf', 'v2')).key, 'clf');

    const typed = await p.logModel('typed', { trainingSet: { a: new Float64Array([1, 2, 3]), b: [4, 5, 6] } });
    assert.deepEqual(typed.featureNames, ['a', 'b']);
  });

  test('serving functions are configured locally and registered with their spec', async () => {
    const p = await client.getProject('remote');
    const fn = await p.setFunction('serving', { kind: 'serving' });
    // In the server's code root (its working folder); a module in the home would be refused.
    fn.addModel('clf', { modelPath: fileURLToPath(new URL('../fixtures/models/clf.js', import.meta.url)), className: 'Clf', modelUri: 'store://models/remote/clf:v2' }).setTracking();
    const saved = await p.saveFunction(fn);
    assert.equal(saved.deployed, false);
    const again = await p.setFunction('serving');
    assert.equal(again.spec.models[0]?.className, 'Clf', 'setFunction loads the registered spec');
    await rejectsWith(p.invoke('serving', '/v2/health/ready'), 'not_running', 503);
  });

  test('errors carry the server code and status', async () => {
    await rejectsWith(client.getProject('missing'), 'not_found', 404);
    await rejectsWith(client.createProject('remote'), 'conflict', 409);
    await rejectsWith(client.createProject('Not Valid'), 'validation_error', 400);
    const p = await client.getProject('remote');
    await p.setModelMonitoringCredentials({ streamPath: 'nats://u:pw@host:4222' });
    assert.ok(!JSON.stringify(await p.getModelMonitoringCredentials()).includes(':pw@'));
    await rejectsWith(p.setModelMonitoringCredentials({ streamPath: 'nats://u:pw2@host:4222' }), 'conflict', 409);
    await rejectsWith(connect({ url: baseUrl }).listProjects(), 'unauthorized', 401);
    await rejectsWith(connect({ url: 'http://127.0.0.1:9' }).listProjects(), 'connection_failed', 503);
    assert.throws(() => connect({ url: 'ftp://x' }), /http/);
  });

  test('endpoints and results are plain JSON', async () => {
    const p = await client.getProject('remote');
    assert.deepEqual(await p.listModelEndpoints(), []);
    assert.deepEqual(await p.listResults({ start: Date.UTC(2026, 0, 1), app: 'histogram-data-drift' }), []);
    assert.deepEqual(await p.listMetrics({}), []);
    assert.deepEqual(await p.latestResults({}), []);
    assert.deepEqual(await p.listEvents({ limit: 10 }), []);
    await rejectsWith(p.getModelEndpoint('nope'), 'not_found', 404);
    await p.disableModelMonitoring();
    await client.deleteProject('other');
    assert.deepEqual((await client.listProjects()).map((x) => x.name), ['remote']);
  });
});
