import { sql, type Kysely } from 'kysely';
import { ValidationError } from '../common/errors.ts';
import type { DialectTraits } from './dialect.ts';
import type { Database } from './schema.ts';
import type { RetentionCounts } from './tsdb-port.ts';

/** Rows one retention DELETE removes. @default 10000 */
export const DEFAULT_RETENTION_BATCH = 10_000;

/**
 * What retention deletes: rows stamped before the cutoff, and windows that ended by it (a window
 * still open at the cutoff keeps its histograms and results).
 */
const TABLES: readonly { table: keyof RetentionCounts & keyof Database; column: string; op: '<' | '<=' }[] = [
  { table: 'predictions', column: 'time', op: '<' },
  { table: 'errors', column: 'time', op: '<' },
  { table: 'window_histograms', column: 'window_end', op: '<=' },
  { table: 'app_results', column: 'window_end', op: '<=' },
  { table: 'metrics', column: 'window_end', op: '<=' },
  { table: 'prediction_rollups', column: 'bucket_start', op: '<' },
  { table: 'dead_letters', column: 'time', op: '<' },
];

/**
 * Deletes time-series rows older than `cutoffMs`, `batchSize` rows per statement, each statement
 * its own short transaction so that ingest is never blocked for long and a crash loses no more
 * than one batch of progress. Returns the rows deleted per table.
 */
export async function deleteOlderThan(
  db: Kysely<Database>,
  traits: DialectTraits,
  cutoffMs: number,
  batchSize = DEFAULT_RETENTION_BATCH,
): Promise<RetentionCounts> {
  if (!Number.isFinite(cutoffMs)) throw new ValidationError(`retention cutoff must be a finite time in ms, not ${cutoffMs}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ValidationError(`retention batch size must be a positive integer, not ${batchSize}`);
  const counts: RetentionCounts = { predictions: 0, errors: 0, window_histograms: 0, app_results: 0, metrics: 0, prediction_rollups: 0, dead_letters: 0 };
  for (const { table, column, op } of TABLES) {
    for (;;) {
      const n = await deleteBatch(db, traits, table, column, op, Math.trunc(cutoffMs), batchSize);
      counts[table] += n;
      if (n < batchSize) break;
    }
  }
  return counts;
}

/**
 * One bounded DELETE. Portable SQL has no `DELETE ... LIMIT`: MySQL has it; PostgreSQL picks the
 * rows' physical ids (`ctid`, a TID scan) and SQLite their `rowid`, each through the time index.
 */
async function deleteBatch(
  db: Kysely<Database>,
  traits: DialectTraits,
  table: string,
  column: string,
  op: '<' | '<=',
  cutoff: number,
  limit: number,
): Promise<number> {
  const t = sql.table(table);
  const where = sql`${sql.ref(column)} ${sql.raw(op)} ${cutoff}`;
  const q =
    traits.flavor === 'mysql'
      ? sql`delete from ${t} where ${where} limit ${sql.lit(limit)}`
      : traits.flavor === 'postgres'
        ? sql`delete from ${t} where ctid = any(array(select ctid from ${t} where ${where} limit ${sql.lit(limit)}))`
        : sql`delete from ${t} where rowid in (select rowid from ${t} where ${where} limit ${sql.lit(limit)})`;
  const r = await q.execute(db);
  return Number(r.numAffectedRows ?? 0n);
}

/**
 * The retention in days: the option when given, else `MODELWATCH_RETENTION_DAYS`, else none
 * (keep everything). 0 also means keep everything.
 * @throws ValidationError for a negative or non-numeric value.
 */
export function resolveRetentionDays(option: number | undefined, env: NodeJS.ProcessEnv = process.env): number | undefined {
  const fromEnv = env.MODELWATCH_RETENTION_DAYS;
  const value = option ?? (fromEnv === undefined || fromEnv.trim() === '' ? undefined : Number(fromEnv));
  if (value === undefined) return undefined;
  if (!Number.isFinite(value) || value < 0) {
    const source = option === undefined ? 'MODELWATCH_RETENTION_DAYS' : 'retentionDays';
    throw new ValidationError(`${source} must be a number of days ≥ 0, not '${option ?? fromEnv}'`);
  }
  return value === 0 ? undefined : value;
}

/** How often a tsdb with a retention setting deletes old rows. @default one hour */
export const DEFAULT_RETENTION_INTERVAL_MS = 60 * 60 * 1000;
export const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Runs `prune(now - keepMs)` a minute after start and then every `intervalMs`, on an unref'd timer
 * (it never keeps a process alive). A background path: failures go to `onError` and the next
 * round tries again. Every process with a tsdb (or stream) open runs it; the deletes are idempotent, so
 * several processes only share the work. Returns the function that stops it.
 */
export function startRetention(
  prune: (cutoffMs: number) => Promise<unknown>,
  keepMs: number,
  opts: { intervalMs?: number; now?: () => number; onError?: (err: unknown) => void } = {},
): () => void {
  const intervalMs = opts.intervalMs ?? DEFAULT_RETENTION_INTERVAL_MS;
  const now = opts.now ?? Date.now;
  let running = false;
  const round = (): void => {
    if (running) return;
    running = true;
    prune(now() - keepMs)
      .catch((err: unknown) => opts.onError?.(err))
      .finally(() => (running = false));
  };
  const first = setTimeout(round, Math.min(60_000, intervalMs));
  const every = setInterval(round, intervalMs);
  first.unref();
  every.unref();
  return () => {
    clearTimeout(first);
    clearInterval(every);
  };
}
