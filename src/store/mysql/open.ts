import { CompiledQuery, Kysely, MysqlDialect } from 'kysely';
import { createPool, format, type ConnectionOptions, type PoolOptions } from 'mysql2';
import type { Database } from '../schema.ts';
import { parseServerUrl } from '../server-url.ts';

/**
 * Session settings of every connection: READ COMMITTED as on PostgreSQL (REPEATABLE READ's gap
 * locks deadlock two transactions that insert into one key range, as two new ingest checkpoints
 * do); UTC; and a known sql_mode — strict, and without NO_BACKSLASH_ESCAPES, which would break
 * mysql2's client-side escaping of values.
 */
const SESSION = [
  'set session transaction isolation level read committed',
  "set time_zone = '+00:00'",
  "set session sql_mode = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'",
];

/** Where a `mysql://` URL points and as whom (host, port, user, password, database, utf8mb4): enough for a single connection. */
export function mysqlConnectionOptions(url: string): ConnectionOptions {
  const p = parseServerUrl(url);
  return { host: p.host || '127.0.0.1', port: p.port ?? 3306, user: p.user ?? 'root', password: p.password, database: p.database, charset: 'utf8mb4' };
}

/**
 * mysql2's own formatting of a query's values into its text (`format`, with the connection's
 * `stringifyObjects` and time zone), except that a query without values is sent as it is. mysql2
 * formats every query, and Kysely passes an empty list of values even to a statement without
 * placeholders: its format then scans the whole text for `?` outside quotes and copies it, which
 * for the stream processor's multi-megabyte INSERT statements (written as text with their values,
 * see insert-predictions.ts) was 5% of its main thread in a MySQL ingest profile. Formatting an
 * empty list of values changes nothing: every `?` stays as it is (tested against `format`).
 */
export function formatQuery(this: { config?: { stringifyObjects?: boolean } } | undefined, sql: string, values: unknown, timezone?: string): string {
  if (values === undefined || values === null || (Array.isArray(values) && values.length === 0)) return sql;
  return format(sql, values as Parameters<typeof format>[1], this?.config?.stringifyObjects, timezone as Parameters<typeof format>[3]);
}

/**
 * The mysql2 pool options for a `mysql://user:pass@host:3306/db?pool=10` (or `mariadb://`) URL.
 * Numbers come back as numbers (bigint and the decimal of `avg`), JSON as text, dates as strings
 * in UTC; CLIENT_FOUND_ROWS is off so that an upsert that changed nothing counts 0 rows.
 */
export function mysqlPoolOptions(url: string): PoolOptions {
  const p = parseServerUrl(url);
  return {
    ...mysqlConnectionOptions(url),
    connectionLimit: p.poolSize,
    maxIdle: p.poolSize,
    idleTimeout: 30_000,
    connectTimeout: 10_000,
    enableKeepAlive: true,
    timezone: 'Z',
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: false,
    decimalNumbers: true,
    jsonStrings: true,
    flags: ['-FOUND_ROWS'],
    queryFormat: formatQuery as unknown as PoolOptions['queryFormat'],
    ssl: p.url.searchParams.get('ssl') === 'true' ? {} : undefined,
  };
}

/** Opens a pooled Kysely handle on MySQL 8 or MariaDB 10.11; the pool connects lazily. */
export function openMysqlDatabase(url: string): Kysely<Database> {
  const pool = createPool(mysqlPoolOptions(url));
  return new Kysely<Database>({
    dialect: new MysqlDialect({
      pool,
      onCreateConnection: async (conn) => {
        for (const statement of SESSION) await conn.executeQuery(CompiledQuery.raw(statement));
      },
    }),
  });
}
