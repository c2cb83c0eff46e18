import { byPartition } from '../batching.ts';
import { knownEventPacks } from '../event-packs.ts';
import { encodePacks, MAX_PACK_CHARS, MAX_PACK_EVENTS } from '../pack.ts';
import { partitionFor } from '../partition.ts';
import type { OutgoingMessage } from '../port.ts';
import { decodeEventBatch, type EventBatch } from '../../tracking/event-batch.ts';
import type { AppendRow } from './log-db.ts';

/** The rows a publish of `messages` appends to a log of `partitions`: its packs, per partition in order. */
export function packRows(messages: readonly OutgoingMessage[], partitions: number): AppendRow[] {
  const parts = partitions === 1 ? new Map([[0, messages]]) : byPartition(messages, (key) => partitionFor(key, partitions));
  const rows: AppendRow[] = [];
  for (const [partition, list] of parts) for (const row of encodePacks(list)) rows.push({ ...row, partition });
  return rows;
}

/**
 * The rows a publish of tracked events handed over as numbers appends (see tracking/event-batch.ts):
 * the same events, in the same order and partitions, as `packRows(decodeEventBatch(batch))`; a
 * batch of numeric events only (the usual one) is packed from the events' middles (see
 * `knownEventPacks`), in packs of at most {@link MAX_PACK_EVENTS} events and {@link MAX_PACK_CHARS}
 * stored characters.
 * @throws Error when the batch cannot be read (see `decodeEventBatch`)
 */
export function packEventBatch(batch: EventBatch, partitions: number): AppendRow[] {
  return knownEventPacks(batch, partitions, { maxEvents: MAX_PACK_EVENTS, maxChars: MAX_PACK_CHARS }) ?? packRows(decodeEventBatch(batch), partitions);
}
