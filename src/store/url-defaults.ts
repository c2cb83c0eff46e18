/**
 * Connection URLs for the database servers of a development machine, used by the backend test
 * suites (`test/backends/`) and quoted in the README:
 *
 * ```sh
 * npm run demo -- --store-url postgres://127.0.0.1/test --tsdb-url postgres://127.0.0.1/test
 * npm run demo -- --store-url mysql://root@127.0.0.1:3306/test --tsdb-url mysql://root@127.0.0.1:3306/test
 * ```
 *
 * URL forms: `postgres://user:password@host:5432/db` (also `postgresql://`; libpq options such as
 * `?sslmode=require` pass through to pg) and `mysql://user:password@host:3306/db` (also
 * `mariadb://`; `?ssl=true`). Both take `?pool=N`, the connections of the process's pool for that
 * URL (default 10). Special characters in a password are percent-encoded (`p%40ss` for `p@ss`).
 * The schema is created on first use (`migrate()`), so the database must exist; the user needs
 * the right to create tables and indexes in it.
 */
export const LOCAL_POSTGRES_URL = 'postgres://127.0.0.1:5432/test';

/** MariaDB 10.11 / MySQL 8 on this machine (see {@link LOCAL_POSTGRES_URL}). */
export const LOCAL_MYSQL_URL = 'mysql://root@127.0.0.1:3306/test';

/** Environment variables that override the URLs above in the backend tests. */
export const TEST_URL_ENV = {
  postgres: 'MODELWATCH_TEST_POSTGRES_URL',
  mysql: 'MODELWATCH_TEST_MYSQL_URL',
} as const;
