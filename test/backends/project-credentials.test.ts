import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { pino } from 'pino';
import { ConflictError, ManualClock, Modelwatch, type Project, type ServingFunction } from '../../src/index.ts';
import { postgresPoolConfig } from '../../src/store/postgres/open.ts';
import { createServer } from '../../src/server/app.ts';
import { rng, tempHome } from '../e2e/helpers.ts';
import { deleteNatsNamespace, natsNamespace, natsStreamsOf, natsUnavailableReason, NATS_SERVER } from './nats.ts';
import { runCli as cli } from '../server/helpers.ts';
import { FreshDatabases, selectedBackends, serverUrl, unavailableReason, withDatabase } from './servers.ts';

/**
 * Per-project credentials: on one platform with the embedded defaults (SQLite + embedded stream),
 * project `alpha` keeps its monitoring data (model endpoints, controller marks, events and time
 * series) in PostgreSQL and its stream on NATS, while `beta` stays embedded. Changing a set connection needs `replace`, and the passwords in the URLs never
 * show in the SDK, the REST API, the CLI or the logs.
 */

const here = path.dirname(fileURLToPath(import.meta.url));
const PERIOD = 10 * 60_000;
const T0 = Date.UTC(2026, 2, 1, 0, 0, 0);
/** Secrets the connection URLs carry; none may appear in a read API or a log line. */
const PG_SECRET = `s3cret-${randomBytes(6).toString('hex')}`;
const NATS_SECRET = `n4ts-${randomBytes(6).toString('hex')}`;
const SECRETS = [PG_SECRET, NATS_SECRET];

async function skipReason(): Promise<string | undefined> {
  if (!selectedBackends().includes('postgres')) return 'postgres is not in MODELWATCH_TEST_BACKENDS';
  return (await unavailableReason('postgres')) ?? (await natsUnavailableReason());
}

/** Runs a statement on the PostgreSQL server as the admin user (roles and ownership). */
async function pgAdmin(statement: string, database?: string): Promise<void> {
  const url = database ? withDatabase(serverUrl('postgres'), database) : serverUrl('postgres');
  const client = new pg.Client(postgresPoolConfig(url));
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** The database name of a `postgres://` URL. */
function databaseOf(url: string): string {
  return new URL(url).pathname.slice(1);
}


function assertNoSecret(text: string, where: string): void {
  for (const s of SECRETS) assert.ok(!text.includes(s), `${where} shows a password: ${text}`);
}

const skip = await skipReason();

describe('per-project credentials: one project on PostgreSQL + NATS, another embedded', skip ? { skip } : {}, () => {
  const dbs = new FreshDatabases('postgres');
  const role = `mw_cred_${randomBytes(4).toString('hex')}`;
  const namespace = natsNamespace();
  const logLines: string[] = [];
  const r = rng(11);
  let home: string;
  let removeHome: (() => void) | undefined;
  let roleCreated = false;
  let mw: Modelwatch | undefined;
  let clock: ManualClock;
  let alpha: Project;
  let beta: Project;
  let pgUrl: string;
  let natsStreamUrl: string;

  /** `postgres://role:secret@host/db` for a fresh database owned by the role. */
  async function roleDatabase(): Promise<string> {
    const admin = await dbs.create();
    await pgAdmin(`alter database ${databaseOf(admin)} owner to ${role}`);
    const u = new URL(admin);
    u.username = role;
    u.password = PG_SECRET;
    return u.toString();
  }

  async function deployServing(project: Project): Promise<ServingFunction> {
    const training = Array.from({ length: 500 }, () => {
      const x0 = r.normal(0, 1);
      const x1 = r.normal(5, 2);
      return { x0, x1, y: x0 + 0.5 * x1 };
    });
    const model = await project.logModel('linear', { model: { weights: [1, 0.5] }, trainingSet: training, labelColumn: 'y' });
    await project.enableModelMonitoring({ basePeriod: 10 });
    const fn = await project.setFunction('serving', { kind: 'serving' });
    fn.addModel('linear', { modelPath: path.join(here, '../fixtures/models/linear-model.ts'), className: 'LinearModel', modelUri: model.uri });
    fn.setTracking();
    await project.deployFunction(fn);
    return fn;
  }

  before(async () => {
    ({ home, cleanup: removeHome } = tempHome('mw-creds-'));
    // The password is what the URL carries; the local server may trust every local login anyway.
    await pgAdmin(`create role ${role} login password '${PG_SECRET}'`);
    roleCreated = true;
    pgUrl = await roleDatabase();
    // A server without authorization ignores the user and password; they still have to stay hidden.
    natsStreamUrl = `nats://mw:${NATS_SECRET}@${NATS_SERVER}?namespace=${namespace}`;
    const logger = pino({ level: 'trace' }, { write: (line: string) => void logLines.push(line) });
    clock = new ManualClock(T0);
    mw = await Modelwatch.open({ home, clock, background: false, logger });
  });

  after(async () => {
    try {
      await mw?.close();
    } finally {
      await dbs.dropAll();
      if (roleCreated) await pgAdmin(`drop role if exists ${role}`);
      await deleteNatsNamespace(namespace);
      removeHome?.();
    }
  });

  test("each project's predictions, results and events go where its credentials say", async () => {
    alpha = await mw!.createProject('alpha');
    beta = await mw!.createProject('beta');
    const set = await alpha.setModelMonitoringCredentials({ endpointStoreConnection: pgUrl, tsdbConnection: pgUrl, streamPath: natsStreamUrl });
    assert.deepEqual(set.notAvailable, []);
    assertNoSecret(JSON.stringify(set), 'setModelMonitoringCredentials');
    assert.deepEqual(await beta.getModelMonitoringCredentials(), {});

    const serving = { alpha: await deployServing(alpha), beta: await deployServing(beta) };
    const sent = { alpha: 60, beta: 40 };
    for (let i = 0; i < sent.alpha; i++) {
      clock.set(T0 + Math.floor((i * PERIOD) / sent.alpha));
      for (const name of ['alpha', 'beta'] as const) {
        if (name === 'beta' && i >= sent.beta) continue;
        await serving[name].invoke('/v2/models/linear/infer', { id: `${name}-${i}`, inputs: [[r.normal(0, 1), r.normal(5, 2)]] });
      }
    }
    clock.set(T0 + PERIOD + 61_000); // the window 00:00–00:10 is closed
    await mw!.runUntilIdle();

    // What each project reads back through the SDK.
    for (const [project, n] of [[alpha, sent.alpha], [beta, sent.beta]] as const) {
      const [ep] = await project.listModelEndpoints();
      assert.equal(ep?.metrics.predictions1h, n, `${project.name} predictions`);
      const drift = await project.listResults({ app: 'histogram-data-drift', name: 'general_drift' });
      assert.deepEqual(drift.map((x) => [x.windowStart, x.windowEnd]), [[T0, T0 + PERIOD]], `${project.name} results`);
    }

    // PostgreSQL holds alpha's time series and nothing of beta's.
    const client = new pg.Client(postgresPoolConfig(pgUrl));
    await client.connect();
    const pgCount = async (table: string, project: string): Promise<number> =>
      Number((await client.query<{ n: string }>(`select count(*) as n from ${table} where project = $1`, [project])).rows[0]!.n);
    try {
      assert.equal(await pgCount('predictions', 'alpha'), sent.alpha);
      assert.equal(await pgCount('app_results', 'alpha'), 1);
      assert.ok((await pgCount('metrics', 'alpha')) >= 3);
      assert.ok((await pgCount('window_histograms', 'alpha')) >= 2);
      for (const table of ['predictions', 'app_results', 'metrics', 'window_histograms']) assert.equal(await pgCount(table, 'beta'), 0, `beta rows in PostgreSQL ${table}`);
      // alpha's model endpoint, with its live metrics, drift status and controller marks, lives in PostgreSQL too.
      const eps = await client.query<{ id: string; drift_status: string; metrics: string }>('select id, drift_status, metrics from endpoints where project = $1', ['alpha']);
      assert.equal(eps.rows.length, 1);
      const [alphaEp] = await alpha.listModelEndpoints();
      assert.equal(eps.rows[0]!.id, alphaEp?.id);
      assert.equal(eps.rows[0]!.drift_status, alphaEp?.driftStatus);
      assert.notEqual(alphaEp?.driftStatus, 'unknown', 'the writer set the drift status in the endpoint store');
      assert.equal((JSON.parse(eps.rows[0]!.metrics) as { predictions1h: number }).predictions1h, sent.alpha);
      const marks = await client.query<{ last_window_end: string }>('select last_window_end from analysis_state where project = $1', ['alpha']);
      assert.deepEqual(marks.rows.map((x) => Number(x.last_window_end)), [T0 + PERIOD], "alpha's last analyzed window");
      for (const table of ['endpoints', 'analysis_state', 'monitoring_events']) assert.equal(await pgCount(table, 'beta'), 0, `beta rows in PostgreSQL ${table}`);
      for (const table of ['projects', 'functions', 'models', 'credentials', 'leases']) {
        const n = Number((await client.query<{ n: string }>(`select count(*) as n from ${table}`)).rows[0]!.n);
        assert.equal(n, 0, `platform records stay in the platform store, yet PostgreSQL ${table} has rows`);
      }
    } finally {
      await client.end();
    }

    // The embedded SQLite time series hold beta's and nothing of alpha's.
    const sqlite = new BetterSqlite3(path.join(home, 'modelwatch.db'), { readonly: true });
    const sqliteCount = (table: string, project: string): number => (sqlite.prepare(`select count(*) as n from ${table} where project = ?`).get(project) as { n: number }).n;
    try {
      assert.equal(sqliteCount('predictions', 'beta'), sent.beta);
      assert.equal(sqliteCount('app_results', 'beta'), 1);
      assert.equal(sqliteCount('endpoints', 'beta'), 1);
      assert.equal(sqliteCount('analysis_state', 'beta'), 1);
      for (const table of ['predictions', 'app_results', 'metrics', 'window_histograms', 'endpoints', 'analysis_state', 'monitoring_events']) {
        assert.equal(sqliteCount(table, 'alpha'), 0, `alpha rows in SQLite ${table}`);
      }
      assert.equal((sqlite.prepare('select count(*) as n from projects where name = ?').get('alpha') as { n: number }).n, 1);
      for (const table of ['functions', 'models', 'credentials']) assert.ok(sqliteCount(table, 'alpha') > 0, `alpha's ${table} stay in SQLite`);
    } finally {
      sqlite.close();
    }

    // alpha's events went through NATS, beta's through the embedded log.
    const streams = await natsStreamsOf(namespace);
    assert.ok(streams.some((s) => s.name.includes('mw_alpha') && s.messages > 0), `alpha's NATS streams: ${JSON.stringify(streams)}`);
    assert.ok(!streams.some((s) => s.name.includes('mw_beta')));
    const log = new BetterSqlite3(path.join(home, 'stream.db'), { readonly: true });
    try {
      const topicCount = (prefix: string): number => (log.prepare('select count(*) as n from log where topic like ?').get(`${prefix}%`) as { n: number }).n;
      assert.ok(topicCount('mw.beta.') > 0);
      assert.equal(topicCount('mw.alpha.'), 0);
    } finally {
      log.close();
    }
  });

  test('changing a set connection needs replace; with it the project moves', async () => {
    const again = await alpha.setModelMonitoringCredentials({ tsdbConnection: pgUrl });
    assert.equal(again.tsdbConnection, pgUrl.replace(PG_SECRET, '***'), 'setting the same value again is no change');
    const other = await roleDatabase();
    await assert.rejects(alpha.setModelMonitoringCredentials({ tsdbConnection: other }), (e: Error) => e instanceof ConflictError && /replace: true/.test(e.message) && !e.message.includes(PG_SECRET));
    assert.equal((await alpha.getModelMonitoringCredentials()).tsdbConnection, pgUrl.replace(PG_SECRET, '***'), 'a refused change leaves the old value');
    await assert.rejects(alpha.setModelMonitoringCredentials({ endpointStoreConnection: other }), (e: Error) => e instanceof ConflictError && /endpointStoreConnection.*replace: true/.test(e.message));
    assert.equal((await alpha.listModelEndpoints()).length, 1, 'a refused change leaves the endpoints where they are');

    const replaced = await alpha.setModelMonitoringCredentials({ tsdbConnection: other, replace: true });
    assert.equal(replaced.tsdbConnection, other.replace(PG_SECRET, '***'));
    assert.equal(replaced.streamPath, natsStreamUrl.replace(NATS_SECRET, '***'), 'connections not given keep their value');
    assert.deepEqual(await alpha.listResults({}), [], 'alpha now reads the new, empty database');
    assert.equal((await alpha.listModelEndpoints()).length, 1, 'the endpoint store did not move with the tsdb');
    assert.equal((await beta.listResults({ name: 'general_drift' })).length, 1, 'beta is untouched');

    const moved = await alpha.setModelMonitoringCredentials({ endpointStoreConnection: other, replace: true });
    assert.equal(moved.endpointStoreConnection, other.replace(PG_SECRET, '***'));
    assert.deepEqual(await alpha.listModelEndpoints(), [], "alpha's endpoints are now read from the new, empty database");
    assert.equal((await beta.listModelEndpoints()).length, 1, "beta's endpoints are untouched");
    pgUrl = other;
  });

  test('the SDK, the REST API and the CLI never show a password', async () => {
    assertNoSecret(JSON.stringify(await alpha.getModelMonitoringCredentials()), 'getModelMonitoringCredentials');
    assert.match((await alpha.getModelMonitoringCredentials()).tsdbConnection ?? '', new RegExp(`^postgres://${role}:\\*\\*\\*@`));

    const app = createServer({ platform: mw!.platform, logger: mw!.platform.logger, requestLogging: true });
    try {
      const got = await app.inject({ method: 'GET', url: '/api/v1/projects/alpha/credentials' });
      assert.equal(got.statusCode, 200);
      assert.deepEqual(Object.keys(got.json() as object).sort(), ['endpointStoreConnection', 'streamPath', 'tsdbConnection']);
      assertNoSecret(got.body, 'GET /credentials');
      const put = await app.inject({ method: 'PUT', url: '/api/v1/projects/alpha/credentials', payload: { streamPath: natsStreamUrl } });
      assert.equal(put.statusCode, 200);
      assertNoSecret(put.body, 'PUT /credentials');
      const conflict = await app.inject({ method: 'PUT', url: '/api/v1/projects/alpha/credentials', payload: { streamPath: natsStreamUrl.replace('mw:', 'other:') } });
      assert.equal(conflict.statusCode, 409);
      assertNoSecret(conflict.body, 'PUT /credentials conflict');
    } finally {
      await app.close();
    }

    const getJson = await cli(['--home', home, 'credentials', 'get', '--project', 'alpha', '--json']);
    assert.equal(getJson.code, 0, getJson.stderr);
    assert.equal((JSON.parse(getJson.stdout) as { tsdbConnection: string }).tsdbConnection, pgUrl.replace(PG_SECRET, '***'));
    const getText = await cli(['--home', home, 'credentials', 'get', '--project', 'alpha']);
    assert.equal(getText.code, 0, getText.stderr);
    assert.match(getText.stdout, /tsdbConnection/);
    const setConflict = await cli(['--home', home, 'credentials', 'set', '--project', 'alpha', '--tsdb-connection', `postgres://${role}:${PG_SECRET}@127.0.0.1/elsewhere`]);
    assert.equal(setConflict.code, 1);
    assert.match(setConflict.stderr, /--replace/);
    for (const [what, out] of [['get --json', getJson], ['get', getText], ['set (conflict)', setConflict]] as const) assertNoSecret(out.stdout + out.stderr, `modelwatch credentials ${what}`);
  });

  test('a connection that fails reports no password', async () => {
    const gamma = await mw!.createProject('gamma');
    await gamma.setModelMonitoringCredentials({ tsdbConnection: `postgres://${role}:${PG_SECRET}@127.0.0.1:1/nowhere` });
    await gamma.enableModelMonitoring({ basePeriod: 10 });
    await assert.rejects(gamma.listResults({}), (e: Error) => {
      assert.match(e.message, new RegExp(`cannot reach the database at postgres://${role}:\\*\\*\\*@127\\.0\\.0\\.1:1/nowhere`));
      assertNoSecret(`${e.message} ${JSON.stringify(e)}`, 'the connection error');
      return true;
    });
  });

  test('the log of the whole run never shows a password, not even when a worker cannot connect', async () => {
    // Restarted with looping workers: gamma's stream processor fails on its database and logs why.
    await mw!.close();
    mw = await Modelwatch.open({ home, clock, background: true, logger: pino({ level: 'trace' }, { write: (line: string) => void logLines.push(line) }) });
    const until = Date.now() + 20_000;
    while (!logLines.some((l) => l.includes('worker step failed') && l.includes('127.0.0.1:1/nowhere')) && Date.now() < until) await new Promise((res) => setTimeout(res, 50));
    await mw.close();
    mw = undefined;
    const text = logLines.join('');
    assert.match(text, /registered model endpoint/, 'the run logged through the platform logger');
    assert.match(text, /"url":"\/api\/v1\/projects\/alpha\/credentials"/, 'the REST requests were logged');
    assert.ok(text.includes(`cannot reach the database at postgres://${role}:***@127.0.0.1:1/nowhere`), 'the failing connection was logged, its password hidden');
    assertNoSecret(text, 'the log');
  });
});
