import path from 'node:path';
import { sql } from 'kysely';
import { BackendNotAvailableError, errorMessage, ModelwatchError, ValidationError } from '../common/errors.ts';
import type { SqlBackend } from './backend.ts';
import { redactSecrets } from '../common/redact.ts';
import { parseConnectionUrl, type ParsedConnectionUrl } from './connection-url.ts';
import { MYSQL_TRAITS, POSTGRES_TRAITS } from './dialect.ts';
import { KyselyStore } from './kysely-store.ts';
import { KyselyTsdb } from './kysely-tsdb.ts';
import type { Store } from './port.ts';
import { resolveRetentionDays } from './retention.ts';
import { acquirePooledBackend } from './server-registry.ts';
import type { Tsdb } from './tsdb-port.ts';

export { parseConnectionUrl, type ConnectionRole, type ParsedConnectionUrl } from './connection-url.ts';

/** Options for {@link openStore} and {@link openTsdb}. */
export interface OpenSqlOptions {
  /** Folder that relative SQLite paths are resolved against. @default process.cwd() */
  home?: string;
  /** Apply pending migrations before returning. @default false (call `migrate()`) */
  migrate?: boolean;
  /** SQLite: milliseconds to wait for another process's lock. @default 5000 */
  busyTimeoutMs?: number;
  /**
   * Tsdb only: delete time-series rows older than this many days, hourly in the background
   * (see `Tsdb.deleteOlderThan`). 0 keeps everything.
   * @default `MODELWATCH_RETENTION_DAYS`, else keep everything
   */
  retentionDays?: number;
  /**
   * Tsdb on a SQLite file: write ingest batches on a thread of their own (see `KyselyTsdbOptions.writerThread`).
   * @default `MODELWATCH_SQLITE_WRITER_THREAD` (`0` or `false`: off), else true
   */
  writerThread?: boolean;
  /** Tsdb only: told once if the SQLite writer thread cannot start or dies (batches are then written on the event loop). */
  onWriterThreadError?: (err: Error) => void;
}

/**
 * The writer-thread setting: the option, else `MODELWATCH_SQLITE_WRITER_THREAD` (`1`/`true` or
 * `0`/`false`), else on.
 * @throws ValidationError for another value of the variable
 */
export function resolveWriterThread(option: boolean | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  if (option !== undefined) return option;
  const text = env.MODELWATCH_SQLITE_WRITER_THREAD?.trim().toLowerCase();
  if (text === undefined || text === '') return true;
  if (text === '1' || text === 'true') return true;
  if (text === '0' || text === 'false') return false;
  throw new ValidationError(`MODELWATCH_SQLITE_WRITER_THREAD must be 1, true, 0 or false, not '${env.MODELWATCH_SQLITE_WRITER_THREAD}'`);
}

/** A server named by a connection URL did not answer (down, wrong host or credentials). */
export class BackendUnreachableError extends ModelwatchError {
  constructor(url: string, cause: unknown) {
    super('backend_unreachable', `cannot reach the database at ${redactSecrets(url)}: ${errorMessage(cause)}`, {
      httpStatus: 503,
      retryable: true,
      cause,
      details: { url: redactSecrets(url) },
    });
  }
}

type Opener = (parsed: ParsedConnectionUrl & { url: string }, what: 'store' | 'tsdb', opts: OpenSqlOptions) => Promise<SqlBackend>;

/*
 * One entry per engine, each importing its folder lazily so that an engine's driver is loaded only
 * when a URL names it. Server engines share one pool per URL within the process.
 */
const OPENERS: Record<string, Opener> = {
  sqlite: async (parsed, _what, opts) => {
    const { acquireSqliteBackend } = await import('./sqlite/registry.ts');
    const file = parsed.path ?? '';
    const resolved = file.startsWith(':') || file.startsWith('file:') ? file : path.resolve(opts.home ?? process.cwd(), file);
    return acquireSqliteBackend(resolved, { busyTimeoutMs: opts.busyTimeoutMs });
  },
  postgres: async (parsed) => {
    const { openPostgresDatabase } = await import('./postgres/open.ts');
    return pinged(parsed.url, acquirePooledBackend(parsed.url, POSTGRES_TRAITS, () => openPostgresDatabase(parsed.url)));
  },
  mysql: async (parsed) => {
    const { openMysqlDatabase } = await import('./mysql/open.ts');
    return pinged(parsed.url, acquirePooledBackend(parsed.url, MYSQL_TRAITS, () => openMysqlDatabase(parsed.url)));
  },
};

/** Fails the open at once, with the URL redacted, when the server cannot be reached. */
async function pinged(url: string, backend: SqlBackend): Promise<SqlBackend> {
  try {
    await sql`select 1`.execute(backend.db);
    return backend;
  } catch (err) {
    await backend.release().catch(() => undefined);
    throw new BackendUnreachableError(url, err);
  }
}

async function openBackend(url: string, what: 'store' | 'tsdb', opts: OpenSqlOptions): Promise<SqlBackend> {
  const parsed = parseConnectionUrl(url, what);
  const open = OPENERS[parsed.scheme];
  if (!parsed.available || !open) throw new BackendNotAvailableError(parsed.scheme, what);
  const backend = await open({ ...parsed, url: url.trim() }, what, opts);
  if (opts.migrate) {
    try {
      await backend.migrate();
    } catch (err) {
      await backend.release();
      throw err;
    }
  }
  return backend;
}

/**
 * Opens the platform store named by `url`: `sqlite:...` (or a file path), `postgres://...` or
 * `mysql://...` (`mariadb://`). A store and a tsdb opened on the same SQLite file share one
 * database handle, and on the same server URL one connection pool (`?pool=N` connections,
 * default 10); each `close()` gives back one reference.
 * @throws ValidationError for a malformed URL, BackendNotAvailableError for a scheme this build
 *   lacks, BackendUnreachableError when the server does not answer.
 */
export async function openStore(url: string, opts: OpenSqlOptions = {}): Promise<Store> {
  const backend = await openBackend(url, 'store', opts);
  return new KyselyStore(url, backend);
}

/**
 * Opens the time-series database named by `url` (see {@link openStore} for sharing and errors).
 */
export async function openTsdb(url: string, opts: OpenSqlOptions = {}): Promise<Tsdb> {
  const retentionDays = resolveRetentionDays(opts.retentionDays);
  const backend = await openBackend(url, 'tsdb', opts);
  return new KyselyTsdb(url, backend, {
    retentionDays,
    writerThread: resolveWriterThread(opts.writerThread),
    busyTimeoutMs: opts.busyTimeoutMs,
    onWriterThreadError: opts.onWriterThreadError,
  });
}
