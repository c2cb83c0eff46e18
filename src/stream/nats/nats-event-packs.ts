import { knownEventPacks, type EventPackLimits } from '../event-packs.ts';
import type { EventBatch } from '../../tracking/event-batch.ts';
import { packRowBody } from './nats-pack.ts';
import type { PackBody } from './subject-writer.ts';

/** What {@link natsEventPacks} packs: a batch of tracked events for a topic of `partitions`. */
export interface NatsPackRequest {
  batch: EventBatch;
  partitions: number;
  limits: EventPackLimits;
  /** The largest body a message may have. */
  maxBodyBytes: number;
}

/** Per partition, in the order of its first event: the bodies of its packs, in order. */
export type NatsPacked = [partition: number, packs: PackBody[]][];

/**
 * The JetStream message bodies (version 3, see nats-pack.ts) of a batch of tracked events handed
 * over as numbers, packed from the numbers (see `knownEventPacks`). Undefined when the caller must
 * pack the decoded events instead: the batch holds events that came as text, or a pack would be
 * larger than `maxBodyBytes`. Runs on the stream's packing thread (nats-pack-thread.ts), or on the
 * caller's thread while that one is not running.
 * @throws Error when the batch cannot be read (see `decodeEventBatch`)
 */
export function natsEventPacks(req: NatsPackRequest): NatsPacked | undefined {
  const rows = knownEventPacks(req.batch, req.partitions, req.limits);
  if (!rows) return undefined;
  const parts = new Map<number, PackBody[]>();
  for (const row of rows) {
    const body = packRowBody(row);
    if (body.length > req.maxBodyBytes) return undefined;
    const list = parts.get(row.partition);
    if (list) list.push({ body, count: row.n });
    else parts.set(row.partition, [{ body, count: row.n }]);
  }
  return [...parts];
}
