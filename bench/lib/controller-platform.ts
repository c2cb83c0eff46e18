/**
 * Benchmark platforms: a fresh modelwatch installation on one of the backend pairs the
 * benchmarks take as `--backend` — `sqlite+embedded` (SQLite store and tsdb, embedded stream
 * log), `postgres+nats` or `mysql+nats` (a fresh `mw_test_*` database on the local server and a
 * JetStream namespace of its own) — with a manual clock, and a cleanup that drops it all.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createConnection } from 'mysql2/promise';
import { mysqlConnectionOptions } from '../../src/store/mysql/open.ts';
import pg from 'pg';
import { ManualClock } from '../../src/common/clock.ts';
import { createLogger } from '../../src/common/logger.ts';
import { Platform } from '../../src/project/platform.ts';
import { postgresPoolConfig } from '../../src/store/postgres/open.ts';
import { deleteNatsNamespace, NATS_SERVER } from '../../test/backends/nats.ts';
import { FreshDatabases, unavailableReason } from '../../test/backends/servers.ts';

/** The backend pairs a benchmark can run on. */
export const BENCH_BACKENDS = ['sqlite+embedded', 'postgres+nats', 'mysql+nats'] as const;
export type BenchBackend = (typeof BENCH_BACKENDS)[number];


/** Checks a `--backend` value. @throws Error naming the choices. */
export function parseBackend(value: string | undefined): BenchBackend {
  const v = value ?? 'sqlite+embedded';
  if (!(BENCH_BACKENDS as readonly string[]).includes(v)) throw new Error(`--backend must be one of ${BENCH_BACKENDS.join(', ')}; got '${v}'`);
  return v as BenchBackend;
}

/** An open benchmark platform. */
export interface BenchPlatform {
  platform: Platform;
  clock: ManualClock;
  home: string;
  /** Store/tsdb and stream URLs (for child processes). */
  urls: { storeUrl: string; tsdbUrl: string; streamUrl: string };
  /**
   * Brings table statistics up to date after a bulk load, as a database that has been running a
   * while has them (PostgreSQL: `VACUUM ANALYZE`, what autovacuum would do next; MySQL/MariaDB:
   * `ANALYZE TABLE`; SQLite, which the store never analyzes: nothing).
   */
  analyze(): Promise<void>;
  /** Closes the platform and removes the home folder and server database. */
  cleanup(): Promise<void>;
}

/** Opens a fresh platform on `backend` with a manual clock at `startMs`; logs at warn level. */
export async function openBenchPlatform(backend: BenchBackend, startMs: number): Promise<BenchPlatform> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-bench-'));
  const clock = new ManualClock(startMs);
  let dbs: FreshDatabases | undefined;
  let storeUrl = `sqlite://${path.join(home, 'modelwatch.db')}`;
  let streamUrl = `embedded://${path.join(home, 'stream.db')}`;
  let namespace: string | undefined;
  if (backend !== 'sqlite+embedded') {
    const sqlName = backend === 'postgres+nats' ? 'postgres' : 'mysql';
    const why = await unavailableReason(sqlName);
    if (why) throw new Error(why);
    dbs = new FreshDatabases(sqlName);
    storeUrl = await dbs.create();
    namespace = `mwbench${randomBytes(4).toString('hex')}`;
    streamUrl = `nats://${NATS_SERVER}?namespace=${namespace}`;
  }
  const urls = { storeUrl, tsdbUrl: storeUrl, streamUrl };
  const platform = await Platform.open({ home, ...urls, clock, logger: createLogger('modelwatch-bench', 'warn') });
  return {
    platform,
    clock,
    home,
    urls,
    analyze: () => analyzeDatabase(backend, storeUrl),
    cleanup: async () => {
      await platform.close();
      await dbs?.dropAll();
      if (namespace) await deleteNatsNamespace(namespace);
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}

const ANALYZED_TABLES = ['predictions', 'window_histograms', 'endpoints', 'analysis_state', 'app_results', 'metrics'];

async function analyzeDatabase(backend: BenchBackend, url: string): Promise<void> {
  if (backend === 'postgres+nats') {
    const client = new pg.Client(postgresPoolConfig(url));
    await client.connect();
    try {
      await client.query(`vacuum analyze ${ANALYZED_TABLES.join(', ')}`);
    } finally {
      await client.end();
    }
  } else if (backend === 'mysql+nats') {
    const conn = await createConnection(mysqlConnectionOptions(url));
    try {
      await conn.query(`analyze table ${ANALYZED_TABLES.join(', ')}`);
    } finally {
      await conn.end();
    }
  }
  // SQLite keeps no statistics unless told to (the store never runs ANALYZE): nothing to bring up to date.
}
