import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { deleteNatsNamespace, natsNamespace, natsUnavailableReason, natsUrl } from '../backends/nats.ts';
import { unexportedTypes } from './unexported-types.ts';

/*
 * The package as users get it: packed with `npm pack` (which builds dist/ on `prepare`), installed
 * from the tarball into an empty folder, and run there by plain Node, with no TypeScript loader:
 * the README's SDK example as JavaScript, the CLI, `modelwatch up` with its worker processes, the
 * worker threads, tracking from a service of one's own, a TypeScript model, and the declarations.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const requireHere = createRequire(import.meta.url);
const execFileAsync = promisify(execFile);

let work = '';
let app = ''; // the user's project, with the package installed
let packed: { path: string }[] = [];
let installLog = '';

function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, encoding: 'utf8', timeout: opts.timeoutMs ?? 300_000, maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return r;
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  assert.equal(r.status, 0, `${what} exited ${String(r.status)}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/**
 * Runs a fixture script with plain Node in the user's project (without blocking this process, whose
 * event loop may be reading another child's output); its last stdout line is JSON.
 */
async function node(script: string, args: string[]): Promise<Record<string, unknown>> {
  fs.copyFileSync(path.join(FIXTURES, script), path.join(app, script));
  try {
    const { stdout } = await execFileAsync(process.execPath, [script, ...args], { cwd: app, env: { ...process.env, MODELWATCH_LOG_LEVEL: 'warn' }, timeout: 300_000, maxBuffer: 64 << 20 });
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    assert.fail(`${script} failed (${String(e.code)}):\n${e.stdout ?? ''}\n${e.stderr ?? String(err)}`);
  }
}

function home(name: string): string {
  const dir = path.join(work, 'homes', name);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Where better-sqlite3's install finds its addon already built (`prebuild-install` looks in
 * `npm_config_better_sqlite3_local_prebuilds` first): this checkout's own build, for this Node and
 * platform, so that the install does not compile it again (a minute or more). Without one the
 * install builds it as a user's would.
 */
function localPrebuilds(): NodeJS.ProcessEnv {
  try {
    const pkgDir = path.dirname(requireHere.resolve('better-sqlite3/package.json'));
    const { version } = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { version: string };
    const dir = path.join(work, 'prebuilds');
    fs.mkdirSync(dir, { recursive: true });
    const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
    const r = run('tar', ['-czf', path.join(dir, name), '-C', pkgDir, 'build/Release/better_sqlite3.node'], { cwd: work });
    return r.status === 0 ? { npm_config_better_sqlite3_local_prebuilds: dir } : {};
  } catch {
    return {};
  }
}

function npmInstall(cwd: string, specs: string[], env: NodeJS.ProcessEnv = {}): string {
  const r = run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...specs], { cwd, env });
  const log = `${r.stdout}${r.stderr}`;
  assert.equal(r.status, 0, `npm install ${specs.join(' ')} failed:\n${log}`);
  return log;
}

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-package-'));
  const pack = ok(run('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT }), 'npm pack');
  const info = (JSON.parse(pack.slice(pack.indexOf('['))) as { filename: string; files: { path: string }[] }[])[0]!;
  packed = info.files;
  app = path.join(work, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  installLog = npmInstall(app, [path.join(work, info.filename)], localPrebuilds());
});

after(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('holds the compiled JavaScript with its declarations, and no sources or tests', () => {
    const files = packed.map((f) => f.path);
    assert.ok(files.includes('dist/index.js') && files.includes('dist/index.d.ts') && files.includes('dist/cli/main.js'));
    assert.deepEqual(files.filter((f) => !f.startsWith('dist/')).sort(), ['README.md', 'package.json']);
    assert.deepEqual(files.filter((f) => /\.ts$/.test(f) && !f.endsWith('.d.ts')), []);
    assert.deepEqual(files.filter((f) => /\.test\.|fixture/.test(f)), []);
    // Neither TypeScript tool is installed for it.
    for (const dev of ['tsx', 'esbuild', 'typescript']) assert.equal(fs.existsSync(path.join(app, 'node_modules', dev)), false, `${dev} was installed`);
  });

  it('installs on this Node without engine warnings', () => {
    assert.doesNotMatch(installLog, /EBADENGINE/);
  });

  it('runs the README example as plain JavaScript', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const m = /<!-- readme-example:start -->\s*```js\n([\s\S]*?)```\s*<!-- readme-example:end -->/.exec(readme);
    assert.ok(m, 'README has the marked example');
    fs.writeFileSync(path.join(app, 'readme-example.mjs'), m[1]!);
    const out = ok(run(process.execPath, ['readme-example.mjs'], { cwd: app, env: { EXAMPLE_HOME: home('readme'), MODELWATCH_LOG_LEVEL: 'warn' } }), 'the README example');
    assert.match(out, /^doubler (no_detection|potential_detection|detected)/m);
    assert.match(out, /x_high/);
    assert.match(out, /general_drift/);
  });

  it('runs the writer thread of the embedded log and the ingest thread of the SQLite tsdb from their compiled modules', async () => {
    const r = await node('embedded-threads.mjs', [home('threads')]);
    assert.deepEqual(r.started, { logWriter: true, ingest: true });
    const posted = r.posted as { logWriter: number; ingest: number };
    assert.ok(posted.logWriter > 0, `the log writer thread was given nothing: ${JSON.stringify(r)}`);
    assert.ok(posted.ingest > 0, `the ingest thread was given nothing: ${JSON.stringify(r)}`);
    assert.equal(r.endpoint, 'doubler');
    assert.ok((r.results as number) > 0);
  });

  it('tracks from a service of its own into the embedded log, and modelwatch ingests it', async () => {
    const r = await node('own-service.mjs', [home('own-embedded'), '']);
    assert.deepEqual(
      (r.endpoints as Record<string, unknown>[]).map((e) => [e.name, e.function, e.features, e.firstRequest, e.lastRequest]),
      [['churn', 'api', ['tenure', 'spend'], Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 1) + 119_000]],
    );
  });

  it('tracks from a service of its own over NATS, packing on the stream\u2019s compiled packing thread', async (t) => {
    const reason = await natsUnavailableReason();
    if (reason) return t.skip(reason);
    const namespace = natsNamespace();
    try {
      const r = await node('own-service.mjs', [home('own-nats'), natsUrl(namespace)]);
      assert.equal(r.packThread, true);
      assert.ok((r.packed as number) > 0, `the packing thread was given nothing: ${JSON.stringify(r)}`);
      assert.deepEqual((r.endpoints as Record<string, unknown>[]).map((e) => [e.name, e.lastRequest]), [['churn', Date.UTC(2026, 0, 1) + 119_000]]);
    } finally {
      await deleteNatsNamespace(namespace);
    }
  });

  it('loads a TypeScript model through the tsx of the user\u2019s project, and says how to get one when there is none', async () => {
    const bare = path.join(work, 'no-tsx');
    fs.mkdirSync(bare);
    fs.copyFileSync(path.join(FIXTURES, 'tripler.ts'), path.join(bare, 'tripler.ts'));
    const failed = await node('ts-model.mjs', [home('ts-bare'), path.join(bare, 'tripler.ts')]);
    assert.match(String(failed.error), /tripler\.ts' is TypeScript, which Node v[\d.]+ does not load by itself: add tsx .* or compile it to JavaScript/);

    const project = path.join(work, 'ts-project');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'ts-project', private: true }));
    const tsxVersion = (JSON.parse(fs.readFileSync(requireHere.resolve('tsx/package.json'), 'utf8')) as { version: string }).version;
    npmInstall(project, [`tsx@${tsxVersion}`]);
    fs.copyFileSync(path.join(FIXTURES, 'tripler.ts'), path.join(project, 'tripler.ts'));
    const served = await node('ts-model.mjs', [home('ts-tsx'), path.join(project, 'tripler.ts')]);
    assert.deepEqual((served.answer as { outputs: { data: number[] }[] }).outputs[0]!.data, [6, 15]);
  });

  it('answers `modelwatch --version` at once', () => {
    assert.equal(ok(run(path.join(app, 'node_modules', '.bin', 'modelwatch'), ['--version'], { cwd: app }), 'modelwatch --version').trim(), VERSION);
    assert.equal(ok(run('npx', ['--no-install', 'modelwatch', '--version'], { cwd: app }), 'npx modelwatch --version').trim(), VERSION);
  });

  it('`modelwatch up` runs a deployed function in a worker process of its own', async () => {
    const up = spawn(path.join(app, 'node_modules', '.bin', 'modelwatch'), ['up', '--home', home('up'), '--port', '0'], {
      cwd: app,
      env: { ...process.env, MODELWATCH_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = once(up, 'exit');
    try {
      const url = await upUrl(up);
      fs.copyFileSync(path.join(FIXTURES, 'halver.mjs'), path.join(app, 'halver.mjs'));
      const r = await node('connected.mjs', [url, './halver.mjs']);
      assert.deepEqual((r.answer as { outputs: { data: number[] }[] }).outputs[0]!.data, [2, 5]);
      const status = r.status as { state: string; pid: number };
      assert.equal(status.state, 'running');
      assert.ok(status.pid > 0 && status.pid !== up.pid, 'the function runs in a process of its own');
    } finally {
      up.kill('SIGTERM');
    }
    assert.equal((await exited)[0], 0, 'modelwatch up stops on SIGTERM');
  });

  it('declares every type its public API reaches, exported from the entry', () => {
    const installed = path.join(app, 'node_modules', 'modelwatch');
    assert.deepEqual(unexportedTypes(path.join(installed, 'dist', 'index.d.ts')), []);
    // A user's code naming them compiles against the installed declarations (no skipLibCheck).
    fs.copyFileSync(path.join(FIXTURES, 'public-types.ts'), path.join(app, 'public-types.ts'));
    fs.writeFileSync(
      path.join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: false, types: ['node'], typeRoots: [path.join(ROOT, 'node_modules', '@types')] },
        files: ['public-types.ts'],
      }),
    );
    ok(run(process.execPath, [requireHere.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: app }), 'tsc on the installed declarations');
  });
});

/** The URL `modelwatch up` prints once it listens. */
function upUrl(up: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`modelwatch up did not start:\n${out}\n${err}`)), 60_000);
    up.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    up.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /modelwatch is up at (http:\/\/\S+) /.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    up.once('exit', (code) => reject(new Error(`modelwatch up exited (${String(code)}):\n${out}\n${err}`)));
  });
}
