import { knownPackRow, type PackRow } from './pack.ts';
import { partitionFor } from './partition.ts';
import { eventBatchMiddleBytes, type EventBatch, type EventBatchMiddleBytes } from '../tracking/event-batch.ts';
import { Latin1Writer } from '../tracking/latin1-writer.ts';

/** How large a pack may be: events, and characters of its value (a pack of one larger event is allowed). */
export interface EventPackLimits {
  maxEvents: number;
  maxChars: number;
}

/**
 * The packs of a batch of tracked events handed over as numbers (see tracking/event-batch.ts), per
 * partition of a topic of `partitions`, in order: the same events as `encodePacks` makes of
 * `decodeEventBatch(batch)`, packed from the events' middles with each endpoint's head and tail as
 * the shared beginning and end, so that the text of each event is neither put together whole nor
 * compared with the others to find what they share. The middles are written into one buffer of
 * one-byte characters (`eventBatchMiddleBytes`), and a pack's value is read off it as one string.
 * Undefined when the batch holds events that came as text (the caller packs the decoded events).
 * @throws Error when the batch cannot be read (see `decodeEventBatch`)
 */
export function knownEventPacks(batch: EventBatch, partitions: number, limits: EventPackLimits): (PackRow & { partition: number })[] | undefined {
  const bytes = eventBatchMiddleBytes(batch);
  if (!bytes) return undefined;
  const { encoders, encoderOf, ends } = bytes;
  const lengthOf = (i: number): number => ends[i]! - (i === 0 ? 0 : ends[i - 1]!);
  const keys = encoders.map((e) => e.endpoint.endpointId);
  const heads = encoders.map((e) => e.head);
  const tails = encoders.map((e) => e.plainTail);
  // Event indexes by partition, partitions in the order of their first event.
  const parts = new Map<number, number[]>();
  const partitionOf = keys.map((key) => (partitions === 1 ? 0 : partitionFor(key, partitions)));
  for (let i = 0; i < batch.count; i++) {
    const partition = partitionOf[encoderOf[i]!]!;
    const list = parts.get(partition);
    if (list) list.push(i);
    else parts.set(partition, [i]);
  }
  const rows: (PackRow & { partition: number })[] = [];
  for (const [partition, list] of parts) {
    for (let at = 0; at < list.length; ) {
      // One pack: its endpoints numbered in order of appearance, at least one event.
      const runKeys: string[] = [];
      const pre: string[] = [];
      const suf: string[] = [];
      const ki: number[] = [];
      const lens: number[] = [];
      const local = new Map<number, number>();
      const from = at;
      let chars = 0;
      for (; at < list.length && lens.length < limits.maxEvents; at++) {
        const i = list[at]!;
        const len = lengthOf(i);
        if (lens.length > 0 && chars + len > limits.maxChars) break;
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
        lens.push(len);
        chars += len;
      }
      const events = list.slice(from, at);
      const value = joinMiddles(bytes, events);
      rows.push({ ...knownPackRow(runKeys, pre, suf, ki, lens, value), partition });
    }
  }
  return rows;
}

/**
 * The middles of `events` (indexes in increasing order) put together: a slice of the buffer where
 * they lie one after the other, else copied together.
 */
function joinMiddles(bytes: EventBatchMiddleBytes, events: readonly number[]): string {
  const { out, ends } = bytes;
  const startOf = (i: number): number => (i === 0 ? 0 : ends[i - 1]!);
  const first = events[0]!;
  const last = events[events.length - 1]!;
  if (last - first === events.length - 1) return out.text(startOf(first), ends[last]);
  let size = 0;
  for (const i of events) size += ends[i]! - startOf(i);
  const joined = new Latin1Writer(size);
  for (const i of events) {
    out.buf.copy(joined.buf, joined.len, startOf(i), ends[i]);
    joined.len += ends[i]! - startOf(i);
  }
  return joined.text();
}
