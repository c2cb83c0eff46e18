/**
 * Backends a benchmark can run on (`--backend`): the embedded default (SQLite store, tsdb and
 * stream log in a temporary home), or PostgreSQL store and tsdb in a fresh `mw_test_*` database
 * plus a NATS JetStream stream in a fresh namespace. Everything created is removed by `cleanup`.
 *
 * Servers: `MODELWATCH_TEST_POSTGRES_URL`-style overrides as in the test suites, NATS at
 * `MODELWATCH_TEST_NATS` (default 127.0.0.1:4222).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deleteNatsNamespace, natsNamespace, NATS_SERVER } from '../../test/backends/nats.ts';
import { FreshDatabases, unavailableReason } from '../../test/backends/servers.ts';

/** Backend names accepted by `--backend`. */
export const BENCH_BACKENDS = ['embedded', 'postgres'] as const;
export type BenchBackendName = (typeof BENCH_BACKENDS)[number];

/** Where a benchmark's platform lives. */
export interface BenchBackend {
  name: BenchBackendName;
  home: string;
  /** Store and tsdb URL (undefined: the embedded SQLite file in `home`). */
  storeUrl?: string;
  /** Stream URL (undefined: the embedded log in `home`). */
  streamUrl?: string;
  /** Says what runs where, for the figures. */
  describe: string;
  cleanup(): Promise<void>;
}

/** Checks a `--backend` value. @throws Error naming the accepted values. */
export function backendName(value: string | undefined): BenchBackendName {
  const v = value ?? 'embedded';
  if (!(BENCH_BACKENDS as readonly string[]).includes(v)) throw new Error(`--backend must be one of ${BENCH_BACKENDS.join(', ')}, got '${v}'`);
  return v as BenchBackendName;
}

/** Sets up a fresh backend of the given name. @throws Error when its servers cannot be reached. */
export async function openBenchBackend(name: BenchBackendName, prefix: string): Promise<BenchBackend> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const removeHome = (): void => fs.rmSync(home, { recursive: true, force: true });
  if (name === 'embedded') return { name, home, describe: 'SQLite store/tsdb + embedded SQLite stream log', cleanup: async () => removeHome() };

  const why = await unavailableReason('postgres');
  if (why) {
    removeHome();
    throw new Error(why);
  }
  const server = NATS_SERVER;
  const ns = natsNamespace();
  const dbs = new FreshDatabases('postgres');
  const storeUrl = await dbs.create();
  return {
    name,
    home,
    storeUrl,
    streamUrl: `nats://${server}?namespace=${ns}`,
    describe: `PostgreSQL store/tsdb + NATS JetStream (${server})`,
    async cleanup() {
      removeHome();
      await dbs.dropAll();
      await deleteNatsNamespace(ns);
    },
  };
}
