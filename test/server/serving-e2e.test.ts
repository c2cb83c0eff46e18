import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { connect, type RemoteProject } from '../../src/project/client.ts';
import type { Platform } from '../../src/project/platform.ts';
import { Supervisor } from '../../src/server/supervisor.ts';
import { childEnv, openPlatform, startServer, tempHome, waitFor } from './helpers.ts';

const MODEL = `export class SumModel {
  predict(rows) { return rows.map((r) => r.reduce((a, b) => a + b, 0)); }
}
`;

describe('server + supervisor: a tracked serving function end to end', { timeout: 120_000 }, () => {
  let platform: Platform;
  let app: FastifyInstance;
  let supervisor: Supervisor;
  let home: string;
  let code: string;
  let cleanup: () => Promise<void>;
  let cleanupCode: () => Promise<void>;
  let project: RemoteProject;

  before(async () => {
    ({ home, cleanup } = await tempHome('mw-e2e-'));
    // The model's folder is the server's code root (a module in the home would be refused).
    ({ home: code, cleanup: cleanupCode } = await tempHome('mw-e2e-code-'));
    platform = await openPlatform(home, { codeRoots: [code] });
    const s = await startServer(platform);
    app = s.app;
    supervisor = new Supervisor(platform, { pollMs: 200, env: childEnv(), onOutput: () => undefined });
    supervisor.start();
    await supervisor.firstPass;
    project = await connect({ url: s.url }).createProject('e2e');
  });

  after(async () => {
    await supervisor.stop();
    await app.close();
    await platform.close();
    await cleanup();
    await cleanupCode();
  });

  test('deploy, invoke through the API, and the endpoint appears from the stream', async () => {
    await project.enableModelMonitoring({ basePeriod: 1, deployHistogramDataDriftApp: false });
    const rows = Array.from({ length: 40 }, (_, i) => ({ a: i % 9, b: (i * 5) % 13 }));
    const model = await project.logModel('sum', { trainingSet: rows });
    const modelFile = path.join(code, 'sum-model.mjs');
    await fs.writeFile(modelFile, MODEL);

    const fn = await project.setFunction('serving');
    fn.addModel('sum', { modelPath: modelFile, className: 'SumModel', modelUri: model.uri }).setTracking();
    await project.deployFunction(fn);

    await waitFor('serving address', async () => {
      const f = await project.getFunction('serving');
      return f.status.state === 'running' && f.status.address ? f : undefined;
    });
    const out = (await waitFor('inference', async () => fn.invoke('/v2/models/sum/infer', { inputs: [[1, 2], [3, 4]] }))) as { outputs: unknown };
    assert.ok(JSON.stringify(out).includes('3') && JSON.stringify(out).includes('7'), JSON.stringify(out));

    const ep = await waitFor('endpoint registered by the stream processor', async () => {
      const eps = await project.listModelEndpoints();
      return eps.length ? eps : undefined;
    });
    assert.equal(ep.length, 1);
    assert.equal(ep[0]!.function, 'serving');
    assert.equal(ep[0]!.model, 'sum');

    // A bad request is answered by the model server's own 4xx, passed through.
    await assert.rejects(fn.invoke('/v2/models/nope/infer', { inputs: [[1]] }), (err: { httpStatus?: number }) => err.httpStatus === 404);
  });

  test('a killed serving worker comes back on the same port, and so does a redeployed one', async () => {
    const before = await project.getFunction('serving');
    assert.equal(before.status.state, 'running');
    const port = before.status.port!;
    assert.ok(port > 0 && before.status.address === `http://127.0.0.1:${port}`, JSON.stringify(before.status));
    process.kill(before.status.pid!, 'SIGKILL');
    const after = await waitFor('restarted', async () => {
      const f = await project.getFunction('serving');
      return f.status.state === 'running' && f.status.pid !== before.status.pid ? f : undefined;
    });
    assert.equal(after.status.restarts, 1);
    assert.equal(after.status.address, before.status.address);
    const fn = await project.setFunction('serving');
    const out = (await fn.invoke('/v2/models/sum/infer', { inputs: [[2, 2]] })) as { outputs: { data: number[] }[] };
    assert.deepEqual(out.outputs[0]!.data, [4]);

    // Redeployed with durable tracking (set over REST): same port, and predictions are answered once stored.
    fn.setTracking({ durable: true });
    await project.deployFunction(fn);
    const redeployed = await waitFor('redeployed', async () => {
      const f = await project.getFunction('serving');
      return f.status.state === 'running' && f.status.pid !== after.status.pid ? f : undefined;
    });
    assert.equal(redeployed.status.port, port);
    assert.equal((redeployed.spec as { tracking: { durable?: boolean } }).tracking.durable, true);
    const durable = (await fn.invoke('/v2/models/sum/infer', { inputs: [[5, 6]] })) as { outputs: { data: number[] }[] };
    assert.deepEqual(durable.outputs[0]!.data, [11]);
  });
});
