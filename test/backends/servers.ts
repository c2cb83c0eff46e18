import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createConnection } from 'mysql2/promise';
import pg from 'pg';
import { redactSecrets } from '../../src/common/redact.ts';
import { mysqlConnectionOptions } from '../../src/store/mysql/open.ts';
import { postgresPoolConfig } from '../../src/store/postgres/open.ts';
import { LOCAL_MYSQL_URL, LOCAL_POSTGRES_URL, TEST_URL_ENV } from '../../src/store/url-defaults.ts';

/**
 * `reason` for a skip, or, when MODELWATCH_TEST_REQUIRE_SERVERS is set (as `.ci/run` does), a
 * thrown error: there a missing server must fail the run rather than pass as skipped.
 */
export function skipUnlessRequired(reason: string): string {
  const required = process.env.MODELWATCH_TEST_REQUIRE_SERVERS;
  if (required && required !== '0') throw new Error(`${reason} (MODELWATCH_TEST_REQUIRE_SERVERS is set, so this is a failure, not a skip)`);
  return reason;
}

/** The SQL backends the contract suites run on. */
export type SqlBackendName = 'sqlite' | 'postgres' | 'mysql';
const ALL: readonly SqlBackendName[] = ['sqlite', 'postgres', 'mysql'];

/**
 * Backends named by `MODELWATCH_TEST_BACKENDS` (comma-separated: `sqlite,postgres,mysql`; `mariadb`
 * is `mysql`), all three when unset.
 * @throws Error for a name that is not a SQL backend, so that a typo does not pass as "nothing to run".
 */
export function selectedBackends(env: NodeJS.ProcessEnv = process.env): SqlBackendName[] {
  const text = env.MODELWATCH_TEST_BACKENDS?.trim();
  if (!text) return [...ALL];
  const names = text.split(/[\s,]+/).filter(Boolean).map((n) => (n === 'mariadb' ? 'mysql' : n));
  for (const n of names) {
    if (!(ALL as readonly string[]).includes(n)) throw new Error(`MODELWATCH_TEST_BACKENDS: unknown backend '${n}' (use ${ALL.join(', ')})`);
  }
  return [...new Set(names as SqlBackendName[])];
}

/** The admin URL of a server backend: the env override or the local default. */
export function serverUrl(backend: 'postgres' | 'mysql'): string {
  return process.env[TEST_URL_ENV[backend]] ?? (backend === 'postgres' ? LOCAL_POSTGRES_URL : LOCAL_MYSQL_URL);
}

/** `url` with another database name (path) and, optionally, extra query parameters. */
export function withDatabase(url: string, database: string, params: Record<string, string> = {}): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.toString();
}

async function adminQuery(backend: 'postgres' | 'mysql', statement: string): Promise<void> {
  const url = serverUrl(backend);
  if (backend === 'postgres') {
    const client = new pg.Client({ ...postgresPoolConfig(url), connectionTimeoutMillis: 3000 });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
    return;
  }
  // On the server, not in a database: this creates and drops them.
  const conn = await createConnection({ ...mysqlConnectionOptions(url), database: undefined, connectTimeout: 3000 });
  try {
    await conn.query(statement);
  } finally {
    await conn.end();
  }
}

/**
 * Why `backend` cannot run here (its server does not answer), or undefined when it can. The
 * caller reports the reason as a skip, never as a pass.
 * @throws Error instead when MODELWATCH_TEST_REQUIRE_SERVERS is set (CI), see {@link skipUnlessRequired}
 */
export async function unavailableReason(backend: SqlBackendName): Promise<string | undefined> {
  if (backend === 'sqlite') return undefined;
  try {
    await adminQuery(backend, 'select 1');
    return undefined;
  } catch (err) {
    return skipUnlessRequired(`${backend} server at ${redactSecrets(serverUrl(backend))} is unreachable (${(err as Error).message}); set ${TEST_URL_ENV[backend]}`);
  }
}

/**
 * Hands out fresh, empty databases of one backend — a new SQLite file, or `CREATE DATABASE
 * mw_test_<random>` on the server — and drops them all in {@link FreshDatabases.dropAll}.
 */
export class FreshDatabases {
  readonly backend: SqlBackendName;
  private readonly created: string[] = [];
  private dir: string | undefined;

  constructor(backend: SqlBackendName) {
    this.backend = backend;
  }

  /** The URL of a new empty database. */
  async create(): Promise<string> {
    const name = `mw_test_${randomBytes(6).toString('hex')}`;
    if (this.backend === 'sqlite') {
      this.dir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'mw-backends-'));
      return `sqlite://${path.join(this.dir, `${name}.db`)}`;
    }
    await adminQuery(this.backend, `create database ${name}`);
    this.created.push(name);
    return withDatabase(serverUrl(this.backend), name);
  }

  /** Drops every database this object created (their pools must be closed by then). */
  async dropAll(): Promise<void> {
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
    if (this.backend === 'sqlite') return;
    const drop = this.backend === 'postgres' ? (n: string) => `drop database if exists ${n} with (force)` : (n: string) => `drop database if exists ${n}`;
    for (const name of this.created.splice(0)) await adminQuery(this.backend, drop(name));
  }
}
