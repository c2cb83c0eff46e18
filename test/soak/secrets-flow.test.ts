import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect, type RemoteClient } from '../../src/project/client.ts';
import { deleteNatsNamespace, natsNamespace, natsUnavailableReason, NATS_SERVER } from '../backends/nats.ts';
import { FreshDatabases, unavailableReason } from '../backends/servers.ts';
import { CLI, childEnv, ok, runCli, tempHome, waitFor, type CliRun } from '../server/helpers.ts';

/*
 * Secrets in every credential form, through a real flow: `modelwatch up` with its workers, a
 * PostgreSQL endpoint store and time-series database, NATS streams, a serving function tracking to
 * a stream of its own, and a second project whose connections fail (its serving function crashes
 * and is restarted, its results cannot be read). Then every API answer, CLI output and log line
 * (the server's and its workers') is searched for the secrets, and so are the bytes of every file
 * in the home; the files' modes are checked. (A soak test: `up` and five workers take a minute or
 * more on a busy machine.)
 */

/** `url` (no user part) with `userinfo` put in. */
const withUser = (url: string, userinfo: string): string => url.replace('://', `://${userinfo}@`);
const namespace = natsNamespace();
const NATS_HOST = NATS_SERVER;
let PG = '';
/** A raw `@` in the password (the driver reads the user part up to the last `@`). */
let PG_AT = '';
const NATS = `nats://mwuser:NatsSecret3@${NATS_HOST}?namespace=${namespace}`;
const TRACKING = `nats://trk:TrkSecret4@${NATS_HOST}?namespace=${namespace}`;
/** A second host with a user part of its own. */
const NATS_TWO_USERS = `nats://a:NatsA5@${NATS_HOST},u2:NatsB6@${NATS_HOST}`;
const LIBPQ = 'host=127.0.0.1 port=5432 password=LibPq7 dbname=test';
/** A password as a query parameter, on a port where nothing answers. */
const PG_QUERY = 'postgres://postgres@127.0.0.1:1/test?password=QuerySecret8';
const SECRETS = ['PgSecret1', 'Pg@tSecret2', 'tSecret2', 'NatsSecret3', 'TrkSecret4', 'NatsA5', 'NatsB6', 'LibPq7', 'QuerySecret8'];

const MODEL = `export class SumModel {
  predict(rows) { return rows.map((r) => r.reduce((a, b) => a + b, 0)); }
}
`;

const skip = (await unavailableReason('postgres')) ?? (await natsUnavailableReason());

describe('secrets stay secret, in every form and every output', { timeout: 300_000, skip }, () => {
  const databases = new FreshDatabases('postgres');
  let home: string;
  let code: string;
  let cleanups: (() => Promise<void>)[] = [];
  let up: ChildProcess | undefined;
  let upOutput = '';
  let url: string;
  let token: string;
  let client: RemoteClient;
  /** Everything a reader was shown: API answers and CLI output. */
  const shown: string[] = [];
  const suffix = Date.now().toString(36);
  const secure = `sec-${suffix}`;
  const broken = `sec-broken-${suffix}`;

  const cli = async (args: string[]): Promise<CliRun> => {
    const r = await runCli(['--url', url, ...args], { env: { MODELWATCH_TOKEN: token } });
    shown.push(r.stdout, r.stderr);
    return r;
  };
  const api = async (method: string, p: string, body?: unknown): Promise<{ status: number; text: string }> => {
    const res = await fetch(`${url}/api/v1${p}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    shown.push(text);
    return { status: res.status, text };
  };

  before(async () => {
    const db = await databases.create();
    PG = withUser(db.replace(/^postgres:\/\/[^@/]*@/, 'postgres://'), 'postgres:PgSecret1');
    PG_AT = withUser(db.replace(/^postgres:\/\/[^@/]*@/, 'postgres://'), 'postgres:Pg@tSecret2');
    const h = await tempHome('mw-secrets-flow-');
    const c = await tempHome('mw-secrets-code-');
    home = h.home;
    code = c.home;
    cleanups = [h.cleanup, c.cleanup];
    fs.writeFileSync(path.join(code, 'sum-model.mjs'), MODEL);
    // The first admin token, made against the home.
    const made = ok(await runCli(['--home', home, 'tokens', 'create', '--role', 'admin', '--name', 'ops']));
    token = made.stdout.trim();
    shown.push(made.stderr);

    up = spawn(process.execPath, [...CLI, 'up', '--home', home, '--port', '0'], { cwd: code, env: childEnv({ MODELWATCH_LOG_LEVEL: 'info' }), stdio: ['ignore', 'pipe', 'pipe'] });
    for (const s of [up.stdout!, up.stderr!]) s.on('data', (d: Buffer) => (upOutput += d.toString()));
    url = await waitFor('modelwatch up', async () => /modelwatch is up at (http:\/\/\S+) /.exec(upOutput)?.[1], 60_000);
    client = connect({ url, token });
  });

  after(async () => {
    const child = up;
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    for (const c of cleanups) await c();
    await databases.dropAll();
    await deleteNatsNamespace(namespace);
  });

  test('a flow on PostgreSQL and NATS with passwords everywhere works, and no output shows one', async () => {
    // Credentials in the URL forms, set from the CLI.
    ok(await cli(['project', 'create', secure]));
    ok(await cli(['credentials', 'set', '--project', secure, '--endpoint-store-connection', PG, '--tsdb-connection', PG_AT, '--stream-path', NATS, '--json']));
    const p = await client.getProject(secure);
    await p.enableModelMonitoring({ basePeriod: 1, deployHistogramDataDriftApp: false });

    // A serving function tracking to a stream of its own, with a password.
    const model = await p.logModel('sum', { trainingSet: Array.from({ length: 30 }, (_, i) => ({ a: i % 7, b: (i * 3) % 11 })) });
    const fn = await p.setFunction('serve');
    fn.addModel('sum', { modelPath: path.join(code, 'sum-model.mjs'), className: 'SumModel', modelUri: model.uri }).setTracking({ streamPath: TRACKING });
    await p.deployFunction(fn, { timeoutSeconds: 120 });
    for (let i = 0; i < 10; i++) assert.deepEqual(((await fn.invoke('/v2/models/sum/infer', { inputs: [[i, 1]] })) as { outputs: { data: number[] }[] }).outputs[0]!.data, [i + 1]);
    // The stream processor read NATS and wrote PostgreSQL: the opened secrets work.
    const eps = await waitFor('the endpoint, stored in PostgreSQL', async () => ((await p.listModelEndpoints()).length ? p.listModelEndpoints() : undefined), 90_000, 500);
    assert.equal(eps[0]!.model, 'sum');

    // A project whose connections fail: a serving function that cannot open its tracking stream
    // (a second host with a user part of its own) crashes and is restarted, and reading results
    // from a time-series database that does not answer fails.
    ok(await cli(['project', 'create', broken]));
    const libpq = await api('PUT', `/projects/${broken}/credentials`, { tsdbConnection: LIBPQ });
    assert.equal(libpq.status, 400, libpq.text);
    assert.match(libpq.text, /keyword=value/);
    assert.equal((await api('PUT', `/projects/${broken}/credentials`, { streamPath: NATS, tsdbConnection: PG_QUERY })).status, 200);
    const spec = { models: [{ name: 'sum', modelPath: path.join(code, 'sum-model.mjs'), className: 'SumModel' }], tracking: { enabled: true, samplingPercentage: 100, streamPath: NATS_TWO_USERS } };
    assert.equal((await api('PUT', `/projects/${broken}/functions/serve2`, { kind: 'serving', spec })).status, 200);
    assert.equal((await api('POST', `/projects/${broken}/functions/serve2/deploy`, { wait: false })).status, 200);
    const results = await api('GET', `/projects/${broken}/results`);
    assert.equal(results.status, 503, results.text);
    assert.match(results.text, /cannot reach the database at postgres:\/\/postgres@127\.0\.0\.1:1\/test\?password=\*\*\*/);
    await waitFor('the serving function to fail on its tracking stream', async () => (/a user and password go once/.test(upOutput) ? true : undefined), 90_000, 500);

    // Every read API and CLI view of both projects.
    for (const project of [secure, broken]) {
      for (const route of ['', '/credentials', '/functions', '/endpoints', '/models', '/events']) assert.equal((await api('GET', `/projects/${project}${route}`)).status, 200, route);
    }
    const creds = JSON.parse((await api('GET', `/projects/${broken}/credentials`)).text) as Record<string, string>;
    assert.equal(creds.tsdbConnection, 'postgres://postgres@127.0.0.1:1/test?password=***');
    const serve2 = JSON.parse((await api('GET', `/projects/${broken}/functions/serve2`)).text) as { spec: { tracking: { streamPath: string } } };
    assert.equal(serve2.spec.tracking.streamPath, `nats://***@${NATS_HOST}`);
    const secureCreds = JSON.parse((await api('GET', `/projects/${secure}/credentials`)).text) as Record<string, string>;
    assert.equal(secureCreds.tsdbConnection, PG_AT.replace('Pg@tSecret2', '***'));
    const serve = JSON.parse((await api('GET', `/projects/${secure}/functions/serve`)).text) as { spec: { tracking: { streamPath: string } } };
    assert.equal(serve.spec.tracking.streamPath, TRACKING.replace('TrkSecret4', '***'));
    await api('GET', '/tokens');
    ok(await cli(['credentials', 'get', '--project', broken]));
    ok(await cli(['functions', 'list', '--project', secure, '--json']));
    ok(await cli(['endpoints', 'list', '--project', secure]));

    // The files while the server runs (WAL files included), and again once it has stopped.
    const mode = (f: string): number => fs.statSync(path.join(home, f)).mode & 0o777;
    const filesNow = (): Map<string, Buffer> =>
      new Map(fs.readdirSync(home, { recursive: true }).map(String).filter((f) => fs.statSync(path.join(home, f)).isFile()).map((f) => [f, fs.readFileSync(path.join(home, f))]));
    const running = filesNow();
    const dbFiles = [...running.keys()].filter((f) => /\.db(-wal|-shm|-journal)?$/.test(f));
    assert.ok(dbFiles.includes('modelwatch.db') && dbFiles.includes('modelwatch.db-wal'), dbFiles.join(', '));
    for (const f of dbFiles) assert.equal(mode(f), 0o600, f);
    assert.equal(mode('.'), 0o700);
    assert.equal(mode('secret.key'), 0o600);

    // Stopped, so that every worker's last lines are in.
    const stopped = new Promise((r) => up!.once('exit', r));
    up!.kill('SIGTERM');
    await stopped;

    const leaks: string[] = [];
    const search = (what: string, text: string): void => {
      for (const s of [...SECRETS, token.slice(21)]) if (text.includes(s)) leaks.push(`${what}: '${s}' in …${text.slice(Math.max(0, text.indexOf(s) - 120), text.indexOf(s) + 40)}…`);
    };
    shown.forEach((t, i) => search(`answer or output ${i}`, t));
    search('the server and worker logs', upOutput);
    for (const [f, bytes] of [...running, ...filesNow()]) search(`file ${f}`, bytes.toString('latin1'));
    assert.deepEqual(leaks, []);
    // The logs did speak of those connections, redacted.
    assert.match(upOutput, /nats:\/\/\*\*\*@/);
    assert.match(upOutput, /password=\*\*\*/);
  });
});
