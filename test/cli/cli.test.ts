import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Platform } from '../../src/project/platform.ts';
import { issueTestToken, openPlatform, ok, runCli as cli, startServer, tempHome, type CliRun as Run } from '../server/helpers.ts';




describe('modelwatch CLI on a home folder', { timeout: 120_000 }, () => {
  let home: string;
  let cleanup: () => Promise<void>;
  const mw = (...args: string[]): Promise<Run> => cli(['--home', home, ...args]);

  before(async () => {
    ({ home, cleanup } = await tempHome('mw-cli-'));
  });

  after(async () => cleanup());

  test('project create, list --json, get', async () => {
    const created = ok(await mw('project', 'create', 'weather', '--description', 'demo', '--label', 'team=ml'));
    assert.match(created.stdout, /created project 'weather'/);
    const list = JSON.parse(ok(await mw('project', 'list', '--json')).stdout) as { name: string; labels: Record<string, string> }[];
    assert.deepEqual(list.map((p) => p.name), ['weather']);
    assert.deepEqual(list[0]!.labels, { team: 'ml' });
    const table = ok(await mw('project', 'list')).stdout;
    assert.match(table, /^NAME\s+MONITORING/m);
    assert.match(table, /weather\s+off/);
  });

  test('monitoring enable, then functions list --json shows histogram-data-drift', async () => {
    const r = ok(await mw('monitoring', 'enable', '--project', 'weather', '--base-period', '1'));
    assert.match(r.stdout, /monitoring enabled/);
    const fns = JSON.parse(ok(await mw('functions', 'list', '--project', 'weather', '--json')).stdout) as { name: string; deployed: boolean }[];
    const names = fns.map((f) => f.name);
    for (const n of ['histogram-data-drift', 'model-monitoring-stream', 'model-monitoring-controller', 'model-monitoring-writer']) assert.ok(names.includes(n), n);
    assert.ok(fns.every((f) => f.deployed));
    const apps = JSON.parse(ok(await mw('functions', 'list', '--project', 'weather', '--kind', 'monitoring-application', '--json')).stdout) as { name: string }[];
    assert.deepEqual(apps.map((f) => f.name), ['histogram-data-drift']);
  });

  test('models log keeps the training set; models get shows where', async () => {
    const csv = path.join(home, 'cars.csv');
    await fs.writeFile(csv, 'Origin,Weight,Horsepower\nUSA,3504,130\nJapan,2372,\n,3693,150\n');
    ok(await mw('models', 'log', 'cars', '--project', 'weather', '--training-set', csv, '--label-column', 'Horsepower'));
    const shown = ok(await mw('models', 'get', 'cars', '--project', 'weather')).stdout;
    const kept = path.join('weather', 'models', 'cars', 'latest', 'training-set.parquet');
    assert.match(shown, new RegExp(`^training set:\\s+${kept.replace(/[.\\/]/g, '\\$&')}$`, 'm'));
    await fs.access(path.join(home, 'artifacts', kept));
  });

  test('endpoints list --json is an array; results and events too', async () => {
    for (const args of [['endpoints', 'list'], ['results'], ['events']]) {
      const r = ok(await mw(...args, '--project', 'weather', '--json'));
      assert.ok(Array.isArray(JSON.parse(r.stdout)), `${args.join(' ')}: ${r.stdout}`);
    }
  });

  test('functions set (a monitoring app and a serving function), create, deploy, remove', async (t) => {
    // Modules live in the working folder (the code root), never in the home, which holds data only.
    const code = await tempHome('mw-cli-code-');
    t.after(code.cleanup);
    const dir = path.join(code.home, 'apps');
    await fs.mkdir(dir, { recursive: true });
    const appFile = path.join(dir, 'my-app.ts');
    await fs.writeFile(appFile, 'export class MyApp {}\n');
    const set = JSON.parse(ok(await cli(['--home', home, 'functions', 'set', 'my-app', '--project', 'weather', '--application', 'apps/my-app.ts', '--class-name', 'MyApp', '--option', 'threshold=0.4', '--json'], { cwd: code.home })).stdout) as {
      spec: { application: string; className: string; options: Record<string, unknown> };
      deployed: boolean;
    };
    assert.equal(set.spec.application, appFile, 'the module path is resolved against the working directory');
    assert.equal(set.spec.className, 'MyApp');
    assert.deepEqual(set.spec.options, { threshold: 0.4 });
    assert.equal(set.deployed, false);

    const created = JSON.parse(ok(await mw('functions', 'create', 'trial', '--project', 'weather', '--application', appFile, '--json')).stdout) as { name: string; kind: string };
    assert.equal(created.kind, 'monitoring-application');
    const notRegistered = await mw('functions', 'get', 'trial', '--project', 'weather');
    assert.equal(notRegistered.code, 1);

    const serving = JSON.parse(ok(await mw('functions', 'set', 'serving', '--project', 'weather', '--kind', 'serving', '--model', `weather=${path.join(dir, 'model.js')}:WeatherModel`, '--tracking', '--durable-tracking', '--json')).stdout) as {
      kind: string;
      spec: { models: { name: string; className: string }[]; tracking: { enabled: boolean; durable?: boolean } };
    };
    assert.equal(serving.kind, 'serving');
    assert.equal(serving.spec.models[0]!.className, 'WeatherModel');
    assert.equal(serving.spec.tracking.enabled, true);
    assert.equal(serving.spec.tracking.durable, true);

    ok(await mw('functions', 'deploy', 'my-app', '--project', 'weather', '--no-wait'));
    const got = JSON.parse(ok(await mw('functions', 'get', 'my-app', '--project', 'weather', '--json')).stdout) as { deployed: boolean };
    assert.equal(got.deployed, true);
    ok(await mw('functions', 'remove', 'my-app', 'serving', '--project', 'weather'));
    const left = JSON.parse(ok(await mw('functions', 'list', '--project', 'weather', '--json')).stdout) as { name: string }[];
    assert.ok(!left.some((f) => f.name === 'my-app' || f.name === 'serving'));
  });

  test('credentials set hides secrets and needs --replace to change a value', async () => {
    const r = ok(await mw('credentials', 'set', '--project', 'weather', '--stream-path', 'nats://mw:hunter2@nats.example:4222'));
    assert.ok(!r.stdout.includes('hunter2'));
    const conflict = await mw('credentials', 'set', '--project', 'weather', '--stream-path', 'nats://mw:other@nats.example:4222');
    assert.equal(conflict.code, 1);
    assert.match(conflict.stderr, /^error: .*--replace/m);
    const got = ok(await mw('credentials', 'get', '--project', 'weather', '--json'));
    assert.ok(!got.stdout.includes('hunter2'));
  });

  test('errors: unknown command and bad options exit 2, failed commands exit 1, with a message on stderr', async () => {
    const bad = await mw('frobnicate');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /error: unknown command 'frobnicate'/);
    assert.equal(bad.stdout, '');

    const badOpt = await mw('monitoring', 'enable', '--project', 'weather', '--base-period', 'soon');
    assert.equal(badOpt.code, 2);
    assert.match(badOpt.stderr, /error: .*--base-period/);

    const missing = await mw('project', 'get', 'nope');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error: project 'nope' was not found/m);

    const noProject = await mw('endpoints', 'list');
    assert.equal(noProject.code, 2);
    assert.match(noProject.stderr, /--project/);

    const dup = await mw('project', 'create', 'weather');
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /error: project 'weather' exists/);
  });

  test('project delete', async () => {
    ok(await mw('project', 'create', 'scratch'));
    ok(await mw('project', 'delete', 'scratch'));
    const list = JSON.parse(ok(await mw('project', 'list', '--json')).stdout) as { name: string }[];
    assert.deepEqual(list.map((p) => p.name), ['weather']);
  });
});

describe('modelwatch CLI through --url', { timeout: 60_000 }, () => {
  let token: string;
  let home: string;
  let platform: Platform;
  let app: FastifyInstance;
  let url: string;
  let cleanup: () => Promise<void>;

  before(async () => {
    const t = await tempHome('mw-cli-url-');
    cleanup = t.cleanup;
    home = t.home;
    platform = await openPlatform(t.home);
    token = await issueTestToken(platform, 'admin');
    ({ app, url } = await startServer(platform));
  });

  after(async () => {
    await app.close();
    await platform.close();
    await cleanup();
  });

  test('commands go to the server (with its token), not to a home folder', async () => {
    const tokenFile = path.join(home, 'token');
    await fs.writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
    ok(await cli(['--url', url, '--token-file', tokenFile, 'project', 'create', 'remote']));
    ok(await cli(['monitoring', 'enable', '--project', 'remote', '--no-histogram-app'], { env: { MODELWATCH_URL: url, MODELWATCH_TOKEN: token } }));
    // The server's store has them.
    assert.ok(await platform.store.getProject('remote'));
    const fns = JSON.parse(ok(await cli(['--url', url, 'functions', 'list', '--project', 'remote', '--json'], { env: { MODELWATCH_TOKEN: token } })).stdout) as { name: string }[];
    assert.ok(fns.some((f) => f.name === 'model-monitoring-stream'));
    assert.ok(!fns.some((f) => f.name === 'histogram-data-drift'));
    const eps = JSON.parse(ok(await cli(['--url', url, '--token-file', tokenFile, 'endpoints', 'list', '--project', 'remote', '--json'])).stdout) as unknown;
    assert.deepEqual(eps, []);

    const denied = await cli(['--url', url, 'project', 'list']);
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /error: .*Bearer/);

    // A token on the command line would show in `ps`: refused, without echoing it, saying where it goes.
    const onCommandLine = await cli(['--url', url, '--token', token, 'project', 'list']);
    assert.equal(onCommandLine.code, 2);
    assert.match(onCommandLine.stderr, /MODELWATCH_TOKEN/);
    assert.match(onCommandLine.stderr, /--token-file/);
    assert.ok(!onCommandLine.stderr.includes(token) && !onCommandLine.stdout.includes(token));
    assert.equal((await cli(['--url', url, '--token-file', path.join(home, 'missing'), 'project', 'list'])).code, 2);

    const unreachable = await cli(['--url', 'http://127.0.0.1:9', 'project', 'list']);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /error: could not reach the modelwatch server/);
  });
});
