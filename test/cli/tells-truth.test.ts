import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { EndpointRecord } from '../../src/common/types.ts';
import { Modelwatch } from '../../src/project/modelwatch.ts';
import { ok, runCli as cli, tempHome, type CliRun as Run } from '../server/helpers.ts';


describe('the CLI on a home that no server runs says what will and will not happen', { timeout: 120_000 }, () => {
  let home: string;
  let code: string;
  let cleanup: () => Promise<void>;
  let cleanupCode: () => Promise<void>;
  const mw = (...args: string[]): Promise<Run> => cli(['--home', home, ...args]);

  before(async () => {
    ({ home, cleanup } = await tempHome('mw-cli-truth-'));
    // Beside the home (which holds data only), inside the CLI's working folder (the temp folder), its code root.
    ({ home: code, cleanup: cleanupCode } = await tempHome('mw-cli-truth-code-'));
    await fs.mkdir(path.join(code, 'apps'));
    await fs.writeFile(path.join(code, 'apps', 'my-app.mjs'), 'export class MyApp { doTracking() { return []; } }\n');
    ok(await mw('project', 'create', 'shop'));
  });

  after(async () => {
    await cleanup();
    await cleanupCode();
  });

  test('functions set --deploy registers, then says a server is needed instead of "deployed"', async () => {
    const r = await mw('functions', 'set', 'my-app', '--project', 'shop', '--application', path.join(code, 'apps', 'my-app.mjs'), '--deploy');
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, "registered monitoring-application function 'my-app'\n");
    assert.equal(
      r.stderr,
      `error: deployed functions run under \`modelwatch up\`, and none runs for ${home}: start it (modelwatch up --home ${home}), then run: ` +
        'modelwatch functions deploy my-app --project shop (--no-wait only marks them deployed, for `modelwatch worker` processes of your own)\n',
    );
    const got = JSON.parse(ok(await mw('functions', 'get', 'my-app', '--project', 'shop', '--json')).stdout) as { deployed: boolean };
    assert.equal(got.deployed, false, 'not marked deployed: nothing would run it');

    const marked = ok(await mw('functions', 'deploy', 'my-app', '--project', 'shop', '--no-wait'));
    assert.equal(marked.stdout, "marked 'my-app' deployed (not waiting for it: state starting)\n");
    const list = ok(await mw('functions', 'list', '--project', 'shop')).stdout;
    assert.match(list, /^my-app\s+monitoring-application\s+starting: waiting for a server \(modelwatch up\)/m);
  });

  test('a misspelt built-in app fails at once, naming the built-ins, and registers nothing', async () => {
    const r = await mw('functions', 'set', 'drift', '--project', 'shop', '--application', 'data-drift-reprt');
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr,
      "error: application 'data-drift-reprt' is neither a built-in app (histogram-data-drift, data-drift-report) nor a module file; name a file such as ./apps/my-app.js\n",
    );
    assert.equal((await mw('functions', 'get', 'drift', '--project', 'shop')).code, 1);
    assert.equal((await mw('functions', 'create', 'drift', '--project', 'shop', '--application', 'data-drift-reprt')).code, 1);
    const builtin = JSON.parse(ok(await mw('functions', 'set', 'drift', '--project', 'shop', '--application', 'data-drift-report', '--json')).stdout) as { spec: Record<string, unknown> };
    assert.deepEqual(builtin.spec, { builtin: 'data-drift-report', options: {} });
  });

  test('monitoring enable and status say the functions wait for a server, not "starting" alone', async () => {
    const enabled = ok(await mw('monitoring', 'enable', '--project', 'shop', '--base-period', '1'));
    assert.match(enabled.stdout, /^its functions are deployed and wait for a server: they start once `modelwatch up` runs on this store$/m);
    const status = ok(await mw('monitoring', 'status', '--project', 'shop')).stdout;
    for (const f of ['model-monitoring-stream', 'model-monitoring-controller', 'model-monitoring-writer']) {
      assert.match(status, new RegExp(`^${f}:\\s+starting: waiting for a server \\(modelwatch up\\)$`, 'm'), status);
    }
    const json = JSON.parse(ok(await mw('monitoring', 'status', '--project', 'shop', '--json')).stdout) as { supervisor: boolean };
    assert.equal(json.supervisor, false);
  });
});

describe('endpoints list leaves the feature distributions out unless --full; endpoints get has them', { timeout: 120_000 }, () => {
  let home: string;
  let cleanup: () => Promise<void>;
  const mw = (...args: string[]): Promise<Run> => cli(['--home', home, ...args]);

  before(async () => {
    ({ home, cleanup } = await tempHome('mw-cli-eps-'));
    // An endpoint with reference and window stats, made through the embedded SDK on the same home.
    const sdk = await Modelwatch.open({ home, background: false, logLevel: 'silent' });
    try {
      const project = await sdk.createProject('eps');
      await project.enableModelMonitoring({ basePeriod: 1, deployHistogramDataDriftApp: false });
      const rows = Array.from({ length: 200 }, (_, i) => ({ x: (i * 7) % 23, origin: ['USA', 'Japan', 'Europe'][i % 3]!, y: i % 5 }));
      const model = await project.logModel('m', { trainingSet: rows, labelColumn: 'y' });
      const fn = await project.setFunction('serving');
      fn.addModel('m', { model: { predict: (batch: unknown[][]) => batch.map(() => 1) }, modelUri: model.uri }).setTracking();
      await project.deployFunction(fn);
      for (let i = 0; i < 20; i++) await fn.invoke('/v2/models/m/infer', { inputs: [{ x: i, origin: 'USA' }] });
      await sdk.runUntilIdle();
    } finally {
      await sdk.close();
    }
  });

  after(async () => cleanup());

  test('--json is a summary, --full and get are complete', async () => {
    const listRun = ok(await mw('endpoints', 'list', '--project', 'eps', '--json'));
    const fullRun = ok(await mw('endpoints', 'list', '--project', 'eps', '--json', '--full'));
    const [summary] = JSON.parse(listRun.stdout) as EndpointRecord[];
    const [full] = JSON.parse(fullRun.stdout) as EndpointRecord[];
    assert.ok(summary && full);
    assert.ok(full.featureStats.x?.hist?.counts.length, 'the full record has the reference histogram');
    assert.ok(full.featureStats.origin?.categories, 'and the reference categories');
    for (const stats of [summary.featureStats, summary.currentStats]) {
      for (const [name, s] of Object.entries(stats)) {
        assert.equal(s.hist, undefined, `${name}: no histogram in the summary`);
        assert.equal(s.categories, undefined, `${name}: no categories in the summary`);
      }
    }
    assert.deepEqual(Object.keys(summary.featureStats).sort(), Object.keys(full.featureStats).sort());
    assert.equal(summary.featureStats.x?.mean, full.featureStats.x?.mean, 'the scalar stats stay');
    assert.equal(summary.featureStats.x?.count, full.featureStats.x?.count);
    assert.deepEqual({ ...summary, featureStats: undefined, currentStats: undefined }, { ...full, featureStats: undefined, currentStats: undefined });
    assert.ok(listRun.stdout.length * 2 < fullRun.stdout.length, `summary ${listRun.stdout.length} B, full ${fullRun.stdout.length} B`);

    const got = JSON.parse(ok(await mw('endpoints', 'get', summary.id.slice(0, 12), '--project', 'eps', '--json')).stdout) as EndpointRecord;
    assert.deepEqual(got.featureStats, full.featureStats, 'get by an id prefix is complete');
    assert.deepEqual(got.currentStats, full.currentStats);
  });
});
