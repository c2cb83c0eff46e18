import { byPartition } from '../batching.ts';
import { encodeKnownPack, encodePacks, MAX_PACK_CHARS, MAX_PACK_EVENTS } from '../pack.ts';
import { partitionFor } from '../partition.ts';
import type { OutgoingMessage } from '../port.ts';
import { decodeEventBatch, eventBatchMiddles, type EventBatch } from '../../tracking/event-batch.ts';
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
 * the same events, in the same order and partitions, as `packRows(decodeEventBatch(batch))`. A batch
 * of numeric events only (the usual one) is packed from the events' middles with each endpoint's
 * head and tail as the shared beginning and end, so that the text of each event is neither put
 * together whole nor compared with the others to find what they share. Packs are cut at
 * {@link MAX_PACK_EVENTS} events and {@link MAX_PACK_CHARS} stored characters.
 * @throws Error when the batch cannot be read (see `decodeEventBatch`)
 */
export function packEventBatch(batch: EventBatch, partitions: number): AppendRow[] {
  const read = eventBatchMiddles(batch);
  if (!read) return packRows(decodeEventBatch(batch), partitions);
  const { encoders, encoderOf, middles } = read;
  const keys = encoders.map((e) => e.endpoint.endpointId);
  const heads = encoders.map((e) => e.head);
  const tails = encoders.map((e) => e.plainTail);
  // Event indexes by partition, partitions in the order of their first event.
  const parts = new Map<number, number[]>();
  const partitionOf = keys.map((key) => (partitions === 1 ? 0 : partitionFor(key, partitions)));
  for (let i = 0; i < middles.length; i++) {
    const partition = partitionOf[encoderOf[i]!]!;
    const list = parts.get(partition);
    if (list) list.push(i);
    else parts.set(partition, [i]);
  }
  const rows: AppendRow[] = [];
  for (const [partition, list] of parts) {
    for (let at = 0; at < list.length; ) {
      // One pack: its endpoints numbered in order of appearance, at least one event.
      const runKeys: string[] = [];
      const pre: string[] = [];
      const suf: string[] = [];
      const ki: number[] = [];
      const mids: string[] = [];
      const local = new Map<number, number>();
      let chars = 0;
      for (; at < list.length && mids.length < MAX_PACK_EVENTS; at++) {
        const i = list[at]!;
        const mid = middles[i]!;
        if (mids.length > 0 && chars + mid.length > MAX_PACK_CHARS) break;
        const e = encoderOf[i]!;
        let k = local.get(e);
        if (k === undefined) {
          k = runKeys.length;
          local.set(e, k);
          runKeys.push(keys[e]!);
          pre.push(heads[e]!);
          suf.push(tails[e]!);
        }
        ki.push(k);
        mids.push(mid);
        chars += mid.length;
      }
      rows.push({ ...encodeKnownPack(runKeys, pre, suf, ki, mids), partition });
    }
  }
  return rows;
}
