import type { OutgoingMessage } from '../port.ts';

/*
 * Several events of one partition travel in one row of the embedded log (a "pack"), so that a
 * publish of hundreds of events is one INSERT and a fetch reads a few rows. A row holds `n` events
 * whose offsets are `seq - n + 1 … seq`: its `seq` is the offset of its last event, so `seq > cursor`
 * finds every row holding an event after the cursor, retention (`seq <= floor`) deletes only rows
 * whose every event is acknowledged, and offsets count events as before.
 *
 * A row of one event (`n = 1`, `pack` NULL) keeps `key` and `value` as they are: that is also the
 * layout of every row written before packing existed, which therefore reads unchanged. A row of
 * several events stores the values concatenated in `value`, and in `pack` a JSON {@link PackIndex}.
 */

/** Events per pack at most. */
export const MAX_PACK_EVENTS = 1000;
/** Value characters per pack at most (a pack of one larger event is allowed). */
export const MAX_PACK_CHARS = 1 << 20;

/** The `pack` column of a row of several events. */
export interface PackIndex {
  /** Length (UTF-16 code units, as JavaScript counts) of each event's value, in order. */
  lens: number[];
  /** The distinct keys of the pack. */
  keys: string[];
  /** Index into `keys` of each event's key; absent when the pack has one key. */
  ki?: number[];
}

/** One row to append: `value` and `pack` as stored, `n` events. */
export interface PackRow {
  key: string;
  value: string;
  n: number;
  pack: string | null;
}

/** The row holding `messages` (one partition's, in order; at least one). */
export function encodePack(messages: readonly OutgoingMessage[]): PackRow {
  const first = messages[0];
  if (!first) throw new Error('a pack holds at least one message');
  if (messages.length === 1) return { key: first.key, value: first.value, n: 1, pack: null };
  const lens = new Array<number>(messages.length);
  const values = new Array<string>(messages.length);
  const keys: string[] = [];
  const keyIndex = new Map<string, number>();
  const ki = new Array<number>(messages.length);
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    lens[i] = m.value.length;
    values[i] = m.value;
    let k = keyIndex.get(m.key);
    if (k === undefined) {
      k = keys.length;
      keys.push(m.key);
      keyIndex.set(m.key, k);
    }
    ki[i] = k;
  }
  const index: PackIndex = keys.length === 1 ? { lens, keys } : { lens, keys, ki };
  return { key: first.key, value: values.join(''), n: messages.length, pack: JSON.stringify(index) };
}

/** Cuts one partition's messages into packs of at most {@link MAX_PACK_EVENTS} events and about {@link MAX_PACK_CHARS} characters. */
export function cutPacks(messages: readonly OutgoingMessage[]): OutgoingMessage[][] {
  if (messages.length <= MAX_PACK_EVENTS) {
    let chars = 0;
    for (const m of messages) chars += m.value.length;
    if (chars <= MAX_PACK_CHARS) return [messages as OutgoingMessage[]];
  }
  const out: OutgoingMessage[][] = [];
  let run: OutgoingMessage[] = [];
  let chars = 0;
  for (const m of messages) {
    if (run.length > 0 && (run.length >= MAX_PACK_EVENTS || chars + m.value.length > MAX_PACK_CHARS)) {
      out.push(run);
      run = [];
      chars = 0;
    }
    run.push(m);
    chars += m.value.length;
  }
  if (run.length > 0) out.push(run);
  return out;
}

/**
 * Reads a row's `pack` column.
 * @throws Error when the row is not a pack this version wrote (a corrupt or foreign log).
 */
export function decodePackIndex(pack: string, n: number, valueLength: number): PackIndex {
  const index = JSON.parse(pack) as PackIndex;
  let total = 0;
  const ok =
    typeof index === 'object' &&
    index !== null &&
    Array.isArray(index.lens) &&
    index.lens.length === n &&
    Array.isArray(index.keys) &&
    index.keys.length >= 1 &&
    (index.ki === undefined ? index.keys.length === 1 : Array.isArray(index.ki) && index.ki.length === n);
  if (ok) for (const len of index.lens) total += len;
  if (!ok || total !== valueLength) throw new Error(`the embedded stream log holds a pack of ${n} events that cannot be read`);
  return index;
}

/** A stored pack row without its first `drop` events (0 < drop < n): what retention keeps of a partly acknowledged pack. */
export function dropFirstEvents(row: { value: string; n: number; pack: string }, drop: number): PackRow {
  const { lens, keys, ki } = decodePackIndex(row.pack, row.n, row.value.length);
  if (!(drop > 0 && drop < row.n)) throw new Error(`cannot drop ${drop} of a pack's ${row.n} events`);
  let start = 0;
  for (let i = 0; i < drop; i++) start += lens[i]!;
  const messages: OutgoingMessage[] = [];
  let pos = start;
  for (let i = drop; i < row.n; i++) {
    const len = lens[i]!;
    messages.push({ key: keys[ki ? ki[i]! : 0]!, value: row.value.slice(pos, pos + len) });
    pos += len;
  }
  return encodePack(messages);
}
