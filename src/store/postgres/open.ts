import os from 'node:os';
import { CompiledQuery, Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from '../schema.ts';
import { parseServerUrl } from '../server-url.ts';
import { copyCapablePool } from './copy.ts';

/* pg type ids (pg_type.oid) whose default parsing does not suit the schema. */
const INT8 = 20;
const NUMERIC = 1700;
const JSON_OID = 114;
const JSONB = 3802;
const TIMESTAMP = 1114;

const identity = (text: string): string => text;

/**
 * Type parsers of modelwatch's pools, kept per pool rather than set globally on `pg.types` so that
 * other pg users in the process are not affected: bigint (epoch ms, counts) and numeric (`avg`)
 * as numbers rather than pg's strings, JSON as the text it is stored as, and `timestamp without
 * time zone` read as UTC rather than in the process's local zone.
 */
export const PG_TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (format === undefined || format === 'text') {
      if (oid === INT8 || oid === NUMERIC) return Number;
      if (oid === JSON_OID || oid === JSONB) return identity;
      if (oid === TIMESTAMP) return (text: string) => new Date(`${text.replace(' ', 'T')}Z`);
    }
    return pg.types.getTypeParser(oid, format);
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * The pg pool configuration for a `postgres://user:pass@host:port/db?pool=10&...` URL. `pool` is
 * modelwatch's (connections in the pool); libpq-style options such as `sslmode` pass through to pg.
 */
export function postgresPoolConfig(url: string): pg.PoolConfig {
  const parsed = parseServerUrl(url);
  // As libpq: no user in the URL or PGUSER means the operating-system user (pg reads $USER, unset in some services).
  const user = parsed.user ?? process.env.PGUSER ?? osUser();
  if (parsed.user === undefined && user !== undefined) parsed.url.username = encodeURIComponent(user);
  return {
    connectionString: parsed.url.toString(),
    max: parsed.poolSize,
    types: PG_TYPES,
    // Sessions in UTC whatever the server's default, so that any time arithmetic agrees across hosts.
    options: '-c TimeZone=UTC',
    application_name: parsed.url.searchParams.get('application_name') ?? 'modelwatch',
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
  };
}

function osUser(): string | undefined {
  try {
    return os.userInfo().username;
  } catch {
    return undefined;
  }
}

/**
 * Opens a pooled Kysely handle on PostgreSQL. The pool connects lazily; an idle connection the
 * server drops is discarded by the pool rather than crashing the process. Its connections also run
 * `COPY ... FROM STDIN` (see {@link copyCapablePool}).
 */
export function openPostgresDatabase(url: string): Kysely<Database> {
  const pool = new pg.Pool(postgresPoolConfig(url));
  // Without a listener an idle client's error (server restart) would be an uncaught 'error' event.
  pool.on('error', () => undefined);
  return new Kysely<Database>({
    dialect: new PostgresDialect({
      pool: copyCapablePool(pool),
      onCreateConnection: async (conn) => {
        // Row locks wait at most this long rather than forever (a stuck holder surfaces as an error).
        await conn.executeQuery(CompiledQuery.raw("set lock_timeout = '60s'"));
      },
    }),
  });
}
