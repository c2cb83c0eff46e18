import type { OutgoingMessage } from './port.ts';

/*
 * Several events of one partition travel together as a "pack": one row of the embedded log (below),
 * one message of NATS JetStream (nats/nats-pack.ts, version 3). In the embedded log a publish of
 * hundreds of events is then one INSERT and a fetch reads a few rows. A row holds `n` events
 * whose offsets are `seq - n + 1 … seq`: its `seq` is the offset of its last event, so `seq > cursor`
 * finds every row holding an event after the cursor, retention (`seq <= floor`) deletes only rows
 * whose every event is acknowledged, and offsets count events as before.
 *
 * A row of one event (`n = 1`, `pack` NULL) keeps `key` and `value` as they are: that is also the
 * layout of every row written before packing existed, which therefore reads unchanged. A row of
 * several events stores the values concatenated in `value`, and in `pack` a JSON {@link PackIndex}.
 *
 * Events of one key (one model endpoint) mostly begin and end alike: the endpoint's ids and names
 * lead an inference event, its feature and label names end it, and only the middle (time, latency,
 * request, response) differs. Such a text is stored once per key in the index (`pre`, `suf`) and
 * `value` holds only the middles, which makes the log about half as large for the same events:
 * less to write for the serving process, less to read for the stream processor.
 */

/** Events per pack at most. */
export const MAX_PACK_EVENTS = 1000;
/**
 * Value characters per pack at most (a pack of one larger event is allowed). Below 64 Ki characters
 * so that a pack's value, even of two-byte characters, stays under V8's 128 KiB regular-object
 * limit: a larger string goes to the large-object space, and making one (joining the values here,
 * reading the row in a consumer) cost about 1.5 µs per event of the pack, ten times the join itself.
 */
export const MAX_PACK_CHARS = 60_000;
/** Shortest shared beginning or end worth storing once per key. */
const MIN_SHARED_CHARS = 8;

/** The `pack` column of a row of several events. */
export interface PackIndex {
  /** Length (UTF-16 code units, as JavaScript counts) of each event's value, in order. */
  lens: number[];
  /** The distinct keys of the pack. */
  keys: string[];
  /** Index into `keys` of each event's key; absent when the pack has one key. */
  ki?: number[];
  /** Per key, the text every event of that key begins with (left out of `value`); absent when none is shared. */
  pre?: string[];
  /** Per key, the text every event of that key ends with (left out of `value`); absent with `pre`. */
  suf?: string[];
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
  const n = messages.length;
  const keys: string[] = [];
  const keyIndex = new Map<string, number>();
  const ki = new Array<number>(n);
  // Per key: the beginning and the end that all its values so far share (a whole value at first).
  const pre: string[] = [];
  const suf: string[] = [];
  const minLen: number[] = [];
  const count: number[] = [];
  let lastKey: string | undefined;
  let k = -1;
  for (let i = 0; i < n; i++) {
    const m = messages[i]!;
    const v = m.value;
    if (m.key !== lastKey) {
      const found = keyIndex.get(m.key);
      lastKey = m.key;
      if (found === undefined) {
        k = keys.length;
        keys.push(m.key);
        keyIndex.set(m.key, k);
        pre.push(v);
        suf.push(v);
        minLen.push(v.length);
        count.push(1);
        ki[i] = k;
        continue;
      }
      k = found;
    }
    ki[i] = k;
    count[k]! += 1;
    if (v.length < minLen[k]!) minLen[k] = v.length;
    // Compared natively (string equality; measured several times faster here than startsWith); the
    // character loops run only when the shared part shrinks.
    const p = pre[k]!;
    if (p.length > 0 && v.slice(0, p.length) !== p) pre[k] = p.slice(0, sharedStart(p, v));
    const q = suf[k]!;
    if (q.length > 0 && v.slice(v.length - q.length) !== q) suf[k] = q.slice(q.length - sharedEnd(q, v));
  }
  let shared = false;
  for (let j = 0; j < keys.length; j++) {
    // A key of one event stores it whole; so do keys whose values are all alike.
    if (count[j] === 1 || pre[j]!.length === minLen[j]) {
      pre[j] = '';
      suf[j] = '';
      continue;
    }
    let p = pre[j]!;
    // Never between the two halves of a surrogate pair: a lone half would not survive UTF-8 in SQLite.
    if (isHighSurrogate(p.charCodeAt(p.length - 1))) p = p.slice(0, -1);
    if (p.length < MIN_SHARED_CHARS) p = '';
    let q = suf[j]!;
    if (q.length > minLen[j]! - p.length) q = q.slice(q.length - (minLen[j]! - p.length));
    if (isLowSurrogate(q.charCodeAt(0))) q = q.slice(1);
    if (q.length < MIN_SHARED_CHARS) q = '';
    pre[j] = p;
    suf[j] = q;
    if (p.length > 0 || q.length > 0) shared = true;
  }
  const lens = new Array<number>(n);
  const values = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const v = messages[i]!.value;
    if (shared) {
      const j = ki[i]!;
      const mid = v.slice(pre[j]!.length, v.length - suf[j]!.length);
      lens[i] = mid.length;
      values[i] = mid;
    } else {
      lens[i] = v.length;
      values[i] = v;
    }
  }
  const index: PackIndex = keys.length === 1 ? { lens, keys } : { lens, keys, ki };
  if (shared) {
    index.pre = pre;
    index.suf = suf;
  }
  return { key: first.key, value: values.join(''), n, pack: JSON.stringify(index) };
}

/**
 * The row of events given as middles, with each key's shared beginning and end already known (the
 * tracker's numeric events: their encoder's `head` and `plainTail`, see tracking/event-batch.ts):
 * the middles are `value` cut at the lengths `lens`, and event `i` is `pre[ki[i]] + middle i +
 * suf[ki[i]]`, of key `keys[ki[i]]`. What it stores reads back as {@link encodePack}'s rows do,
 * without comparing the events to find what they share.
 */
export function knownPackRow(keys: readonly string[], pre: readonly string[], suf: readonly string[], ki: readonly number[], lens: number[], value: string): PackRow {
  const n = lens.length;
  if (n === 0) throw new Error('a pack holds at least one message');
  if (n === 1) {
    const k = ki[0]!;
    return { key: keys[k]!, value: pre[k]! + value + suf[k]!, n: 1, pack: null };
  }
  const index: PackIndex = keys.length === 1 ? { lens, keys: [...keys] } : { lens, keys: [...keys], ki: [...ki] };
  index.pre = [...pre];
  index.suf = [...suf];
  return { key: keys[ki[0]!]!, value, n, pack: JSON.stringify(index) };
}

/** How many leading characters `a` and `b` share. */
function sharedStart(a: string, b: string): number {
  const end = Math.min(a.length, b.length);
  let i = 0;
  while (i < end && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

/** How many trailing characters `a` and `b` share. */
function sharedEnd(a: string, b: string): number {
  const end = Math.min(a.length, b.length);
  let i = 0;
  while (i < end && a.charCodeAt(a.length - 1 - i) === b.charCodeAt(b.length - 1 - i)) i++;
  return i;
}

const isHighSurrogate = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;
const isLowSurrogate = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff;

/** Event `i` of a pack whose middle (its part of the row's `value`) is `mid`. */
export function packedValue(index: PackIndex, i: number, mid: string): string {
  if (index.pre === undefined) return mid;
  const k = index.ki ? index.ki[i]! : 0;
  return index.pre[k]! + mid + index.suf![k]!;
}

/**
 * Characters of whole values per run that {@link encodePacks} tries as one pack. What a pack
 * stores is less (each key's shared beginning and end once): serving's events of 10 features store
 * about 40% of their text. Runs cut at {@link MAX_PACK_CHARS} of whole values made most of a
 * tracker's publishes (150–250 events) two rows, one of them a handful of events with nearly a whole
 * index of its own (measured: 77 events per row, the index 35% of the log's bytes).
 */
const MAX_RUN_CHARS = 2 * MAX_PACK_CHARS;

/**
 * The packs of one partition's messages, in order: runs of at most {@link MAX_PACK_EVENTS} events and
 * {@link MAX_RUN_CHARS} characters, each one pack when what it stores fits {@link MAX_PACK_CHARS},
 * else cut in halves until it does (a run whose events share little is encoded twice at most).
 */
export function encodePacks(messages: readonly OutgoingMessage[]): PackRow[] {
  const out: PackRow[] = [];
  for (const run of cutPacks(messages)) encodeFitting(run, out);
  return out;
}

function encodeFitting(run: readonly OutgoingMessage[], out: PackRow[]): void {
  const row = encodePack(run);
  if (row.value.length <= MAX_PACK_CHARS || run.length === 1) {
    out.push(row);
    return;
  }
  const half = Math.ceil(run.length / 2);
  encodeFitting(run.slice(0, half), out);
  encodeFitting(run.slice(half), out);
}

/** Cuts one partition's messages into runs of at most {@link MAX_PACK_EVENTS} events and `maxChars` characters of whole values. */
export function cutPacks(messages: readonly OutgoingMessage[], maxChars = MAX_RUN_CHARS): OutgoingMessage[][] {
  if (messages.length <= MAX_PACK_EVENTS) {
    let chars = 0;
    for (const m of messages) chars += m.value.length;
    if (chars <= maxChars) return [messages as OutgoingMessage[]];
  }
  const out: OutgoingMessage[][] = [];
  let run: OutgoingMessage[] = [];
  let chars = 0;
  for (const m of messages) {
    if (run.length > 0 && (run.length >= MAX_PACK_EVENTS || chars + m.value.length > maxChars)) {
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
 * Reads a pack's index (an embedded log row's `pack` column, a NATS pack's head): `n` events when
 * given (else as many as it lists), whose stored middles add up to `valueLength` characters.
 * @throws Error when it is not a pack this version wrote (corrupt or foreign).
 */
export function decodePackIndex(pack: string, n: number | undefined, valueLength: number): PackIndex {
  const index = JSON.parse(pack) as PackIndex;
  const count = n ?? (Array.isArray(index?.lens) ? index.lens.length : -1);
  let total = 0;
  const ok =
    typeof index === 'object' &&
    index !== null &&
    Array.isArray(index.lens) &&
    index.lens.length === count &&
    Array.isArray(index.keys) &&
    index.keys.length >= 1 &&
    (index.ki === undefined ? index.keys.length === 1 : Array.isArray(index.ki) && index.ki.length === count) &&
    (index.pre === undefined
      ? index.suf === undefined
      : Array.isArray(index.pre) && Array.isArray(index.suf) && index.pre.length === index.keys.length && index.suf.length === index.keys.length);
  if (ok) for (const len of index.lens) total += len;
  if (!ok || total !== valueLength) throw new Error(`a stream pack of ${count} events cannot be read`);
  return index;
}

/** The messages of a pack from event `from` on, given its index and stored value. */
export function unpack(index: PackIndex, value: string, from = 0): OutgoingMessage[] {
  const { lens, keys, ki } = index;
  let pos = 0;
  for (let i = 0; i < from; i++) pos += lens[i]!;
  const messages = new Array<OutgoingMessage>(lens.length - from);
  for (let i = from; i < lens.length; i++) {
    const len = lens[i]!;
    messages[i - from] = { key: keys[ki ? ki[i]! : 0]!, value: packedValue(index, i, value.slice(pos, pos + len)) };
    pos += len;
  }
  return messages;
}

/** A stored pack row without its first `drop` events (0 < drop < n): what retention keeps of a partly acknowledged pack. */
export function dropFirstEvents(row: { value: string; n: number; pack: string }, drop: number): PackRow {
  const index = decodePackIndex(row.pack, row.n, row.value.length);
  if (!(drop > 0 && drop < row.n)) throw new Error(`cannot drop ${drop} of a pack's ${row.n} events`);
  return encodePack(unpack(index, row.value, drop));
}
