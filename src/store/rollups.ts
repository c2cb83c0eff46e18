import { sql, type Kysely } from 'kysely';
import type { DialectTraits } from './dialect.ts';
import { chunkRows } from './dialect.ts';
import { ROLLUP_BUCKET_MS } from './migrations/004-prediction-rollups.ts';
import type { PredictionColumns } from './prediction-columns.ts';
import type { Database } from './schema.ts';

export { ROLLUP_BUCKET_MS };

/** One endpoint's bucket: prediction rows and the sum of their latencies (`prediction_rollups`, migration 004). */
export interface Rollup {
  project: string;
  endpoint_id: string;
  bucket_start: number;
  predictions: number;
  latency_us_sum: number;
}

/** Start of the rollup bucket holding `time` (epoch ms). */
export function bucketOf(time: number): number {
  return Math.floor(time / ROLLUP_BUCKET_MS) * ROLLUP_BUCKET_MS;
}

/** First bucket start at or after `time`: the buckets from there on lie wholly after `time`. */
export function bucketCeil(time: number): number {
  return Math.ceil(time / ROLLUP_BUCKET_MS) * ROLLUP_BUCKET_MS;
}

/** Adds up a batch's prediction rows per endpoint and bucket. */
export class RollupAccumulator {
  private readonly byEndpoint = new Map<string, Map<number, Rollup>>();

  add(project: string, endpointId: string, time: number, latencyUs: number): void {
    let buckets = this.byEndpoint.get(endpointId);
    if (!buckets) {
      buckets = new Map();
      this.byEndpoint.set(endpointId, buckets);
    }
    const b = bucketOf(time);
    const r = buckets.get(b);
    if (r) {
      r.predictions += 1;
      r.latency_us_sum += latencyUs;
    } else {
      buckets.set(b, { project, endpoint_id: endpointId, bucket_start: b, predictions: 1, latency_us_sum: latencyUs });
    }
  }

  rows(): Rollup[] {
    const out: Rollup[] = [];
    for (const buckets of this.byEndpoint.values()) for (const r of buckets.values()) out.push(r);
    return out;
  }
}

/** The rollups of stored prediction rows (`latency_us` as stored). */
export function rollupsOf(rows: readonly { project: string; endpoint_id: string; time: number; latency_us: number }[]): Rollup[] {
  const acc = new RollupAccumulator();
  for (const r of rows) acc.add(r.project, r.endpoint_id, r.time, r.latency_us);
  return acc.rows();
}

/** The rollups of predictions held as columns (latency as stored: the columns hold it rounded). */
export function rollupsOfColumns(columns: PredictionColumns): Rollup[] {
  const acc = new RollupAccumulator();
  columns.forEachScalar((project, endpointId, time, latencyUs) => acc.add(project, endpointId, time, latencyUs));
  return acc.rows();
}

/** Adds `rollups` to the stored ones of their keys, in one statement per chunk (an atomic add on every engine). */
export async function addRollups(tx: Kysely<Database>, traits: DialectTraits, rollups: readonly Rollup[]): Promise<void> {
  for (const part of chunkRows(rollups, traits)) {
    const q = tx.insertInto('prediction_rollups').values(part);
    if (traits.flavor === 'mysql') {
      await q.onDuplicateKeyUpdate({ predictions: sql`predictions + values(predictions)`, latency_us_sum: sql`latency_us_sum + values(latency_us_sum)` }).execute();
    } else {
      await q
        .onConflict((oc) =>
          oc.columns(['project', 'endpoint_id', 'bucket_start']).doUpdateSet({
            predictions: sql`prediction_rollups.predictions + excluded.predictions`,
            latency_us_sum: sql`prediction_rollups.latency_us_sum + excluded.latency_us_sum`,
          }),
        )
        .execute();
    }
  }
}
