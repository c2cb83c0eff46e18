import path from 'node:path';
import { BackendNotAvailableError } from '../common/errors.ts';
import type { SqlBackend } from './backend.ts';
import { parseConnectionUrl, type ParsedConnectionUrl } from './connection-url.ts';
import { KyselyStore } from './kysely-store.ts';
import { KyselyTsdb } from './kysely-tsdb.ts';
import type { Store } from './port.ts';
import type { Tsdb } from './tsdb-port.ts';

export { parseConnectionUrl, redactUrl, type ConnectionRole, type ParsedConnectionUrl } from './connection-url.ts';

/** Options for {@link openStore} and {@link openTsdb}. */
export interface OpenSqlOptions {
  /** Folder that relative SQLite paths are resolved against. @default process.cwd() */
  home?: string;
  /** Apply pending migrations before returning. @default false (call `migrate()`) */
  migrate?: boolean;
  /** SQLite: milliseconds to wait for another process's lock. @default 5000 */
  busyTimeoutMs?: number;
}

type Opener = (parsed: ParsedConnectionUrl, what: 'store' | 'tsdb', opts: OpenSqlOptions) => Promise<SqlBackend>;

/*
 * One entry per engine, each importing its folder lazily so that an engine's driver is loaded only
 * when a URL names it. PostgreSQL and MySQL slot in here (`./postgres/`, `./mysql/`).
 */
const OPENERS: Record<string, Opener> = {
  sqlite: async (parsed, _what, opts) => {
    const { acquireSqliteBackend } = await import('./sqlite/registry.ts');
    const file = parsed.path ?? '';
    const resolved = file.startsWith(':') || file.startsWith('file:') ? file : path.resolve(opts.home ?? process.cwd(), file);
    return acquireSqliteBackend(resolved, { busyTimeoutMs: opts.busyTimeoutMs });
  },
};

async function openBackend(url: string, what: 'store' | 'tsdb', opts: OpenSqlOptions): Promise<SqlBackend> {
  const parsed = parseConnectionUrl(url, what);
  const open = OPENERS[parsed.scheme];
  if (!parsed.available || !open) throw new BackendNotAvailableError(parsed.scheme, what);
  const backend = await open(parsed, what, opts);
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
 * Opens the platform store named by `url`. A store and a tsdb opened on the same SQLite file share
 * one database handle; each `close()` gives back one reference.
 * @throws ValidationError for a malformed URL, BackendNotAvailableError for postgres/mysql (not yet built).
 */
export async function openStore(url: string, opts: OpenSqlOptions = {}): Promise<Store> {
  const backend = await openBackend(url, 'store', opts);
  return new KyselyStore(url, backend);
}

/**
 * Opens the time-series database named by `url` (see {@link openStore} for sharing and errors).
 */
export async function openTsdb(url: string, opts: OpenSqlOptions = {}): Promise<Tsdb> {
  const backend = await openBackend(url, 'tsdb', opts);
  return new KyselyTsdb(url, backend);
}
