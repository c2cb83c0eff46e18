import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLI, childEnv, ok, runCli, tempHome, waitFor } from '../server/helpers.ts';

/*
 * The operator's path: `modelwatch tokens create --role admin` against the home makes the first
 * token (no server needed); `up` refuses a host beyond this machine until one exists; clients
 * send their token from MODELWATCH_TOKEN or --token-file; revoking takes effect at once.
 */

/** `modelwatch up` with `args`, resolved once it says where it is up (or rejected with its output when it exits first). */
function startUp(args: string[]): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [...CLI, 'up', '--port', '0', '--no-workers', ...args], { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  for (const s of [child.stdout!, child.stderr!]) s.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`modelwatch up did not start:\n${out}`)), 60_000);
    child.stdout!.on('data', () => {
      const m = /modelwatch is up at http:\/\/\S+?:(\d+) /.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: `http://127.0.0.1:${m[1]!}`, output: () => out });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`modelwatch up exited (${String(code)}):\n${out}`), { code, out }));
    });
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  return exited;
}

describe('modelwatch tokens and up beyond this machine', { timeout: 180_000 }, () => {
  let home: string;
  let cleanup: () => Promise<void>;
  let up: ChildProcess | undefined;

  before(async () => {
    ({ home, cleanup } = await tempHome('mw-tokens-cli-'));
  });

  after(async () => {
    if (up) await stop(up);
    await cleanup();
  });

  test('up on a host beyond this machine is refused while no token exists, saying how to make one', async () => {
    const refused = await startUp(['--home', home, '--host', '0.0.0.0']).then(
      () => assert.fail('it started'),
      (err: { code: number | null; out: string }) => err,
    );
    assert.equal(refused.code, 1);
    assert.match(refused.out, /refusing to listen on 0\.0\.0\.0/);
    assert.match(refused.out, /modelwatch tokens create --role admin --name <your name> --home /);
    assert.match(refused.out, /MODELWATCH_TOKEN/);
    const tokenFile = path.join(home, 'nope');
    await fs.writeFile(tokenFile, 'x');
    const withFile = await runCli(['--home', home, '--token-file', tokenFile, 'up', '--port', '0']);
    assert.equal(withFile.code, 2, 'up takes no token of its own');
    assert.match(withFile.stderr, /up takes no token/);
  });

  test('the first admin token is made against the home, printed once, stored as a hash', async () => {
    const made = ok(await runCli(['--home', home, 'tokens', 'create', '--role', 'admin', '--name', 'ops']));
    const token = made.stdout.trim();
    assert.match(token, /^mwt_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    assert.match(made.stderr, /not shown again/);
    const list = ok(await runCli(['--home', home, 'tokens', 'list']));
    assert.match(list.stdout, /^ID\s+NAME\s+ROLE\s+PROJECT/m);
    assert.match(list.stdout, new RegExp(`${token.slice(4, 20)}\\s+ops\\s+admin\\s+\\(every\\)`));
    const json = JSON.parse(ok(await runCli(['--home', home, 'tokens', 'list', '--json'])).stdout) as Record<string, unknown>[];
    assert.deepEqual(Object.keys(json[0]!).sort(), ['createdAt', 'id', 'name', 'project', 'revokedAt', 'role']);
    for (const out of [list.stdout, JSON.stringify(json)]) assert.ok(!out.includes(token.slice(21)));
    const db = await fs.readFile(path.join(home, 'modelwatch.db'));
    const wal = await fs.readFile(path.join(home, 'modelwatch.db-wal')).catch(() => Buffer.alloc(0));
    assert.ok(!Buffer.concat([db, wal]).includes(token.slice(21)), 'the database holds no token');
    assert.equal((await runCli(['--home', home, 'tokens', 'create', '--role', 'root'])).code, 2);
    await fs.writeFile(path.join(home, 'admin.token'), `${token}\n`, { mode: 0o600 });
  });

  test('with a token, up listens beyond this machine; clients need theirs; a revoked one is refused at once', async () => {
    const admin = (await fs.readFile(path.join(home, 'admin.token'), 'utf8')).trim();
    const started = await startUp(['--home', home, '--host', '0.0.0.0']);
    up = started.child;
    // The banner's next lines may come a moment after the first.
    await waitFor('the authentication line', async () => (/authentication: /.test(started.output()) ? true : undefined), 10_000);
    assert.match(started.output(), /authentication: on \(1 active API token\)/);
    const url = started.url;
    assert.equal((await fetch(`${url}/api/v1/projects`)).status, 401);
    assert.equal((await fetch(`${url}/api/v1/health`)).status, 200);

    // A viewer token made over the API by the admin, used from a file and from the environment.
    const viewer = JSON.parse(ok(await runCli(['--url', url, '--token-file', path.join(home, 'admin.token'), 'tokens', 'create', '--role', 'viewer', '--name', 'dana', '--json'])).stdout) as { id: string; token: string };
    ok(await runCli(['--url', url, 'project', 'create', 'p1'], { env: { MODELWATCH_TOKEN: admin } }));
    const listed = JSON.parse(ok(await runCli(['--url', url, 'project', 'list', '--json'], { env: { MODELWATCH_TOKEN: viewer.token } })).stdout) as { name: string }[];
    assert.deepEqual(listed.map((p) => p.name), ['p1']);
    const denied = await runCli(['--url', url, 'project', 'create', 'p2'], { env: { MODELWATCH_TOKEN: viewer.token } });
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /needs the write permission \(editor or admin\)/);
    const anonymous = await runCli(['--url', url, 'project', 'list']);
    assert.equal(anonymous.code, 1);
    assert.match(anonymous.stderr, /Bearer/);

    // Revoked from the home while the server runs: the server refuses it on the next request.
    assert.match(ok(await runCli(['--home', home, 'tokens', 'revoke', viewer.id])).stdout, new RegExp(`revoked token ${viewer.id} of 'dana'`));
    const after = await runCli(['--url', url, 'project', 'list'], { env: { MODELWATCH_TOKEN: viewer.token } });
    assert.equal(after.code, 1);
    assert.match(after.stderr, /not valid/);
    for (const out of [started.output(), after.stderr, after.stdout]) assert.ok(!out.includes(viewer.token.slice(21)) && !out.includes(admin.slice(21)), 'no token in any output');
  });

  test('a serving function listens beyond this machine only if it requires a token', async () => {
    // In the CLI's code root (its working folder, the temp folder), outside the home; it need not exist until deployed.
    const set = (...extra: string[]) =>
      runCli(['--home', home, 'functions', 'set', 'serve', '--project', 'p1', '--kind', 'serving', '--model', `m=${path.join(os.tmpdir(), 'mw-tokens-model.js')}:M`, '--host', '0.0.0.0', ...extra]);
    const refused = await set();
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /reachable from other machines.*--require-token/);
    const made = JSON.parse(ok(await set('--require-token', '--json')).stdout) as { spec: { host: string; requireToken: boolean } };
    assert.deepEqual([made.spec.host, made.spec.requireToken], ['0.0.0.0', true]);
  });
});
