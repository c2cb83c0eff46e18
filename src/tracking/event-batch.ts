import type { OutgoingMessage } from '../stream/port.ts';
import { EventEncoder, hasKeys, PLAIN_TEXT, type EndpointInfo, type EventArgs } from './event.ts';
import { latin1, Latin1Writer } from './latin1-writer.ts';
import { MAX_EVENT_BYTES } from './request-events.ts';

/*
 * Tracking's events in a compact form, so that the work of writing them as JSON text can leave the
 * serving event loop. A request whose inputs and outputs are plain numbers (the usual case) is kept
 * by the tracker as those numbers, copied at `track` time into a {@link NumericEventStore}; a
 * publish hands the stream an {@link EventBatch} of them, which the stream encodes and packs
 * (`knownEventPacks` in stream/event-packs.ts: each event's middle written from its numbers by
 * {@link eventBatchMiddleBytes}, between its endpoint's head and tail stored once per pack): the
 * embedded log on its writer thread, NATS on its packing thread (each on the calling thread while
 * that thread is not running), where this costs less than half of encoding each event whole and finding
 * what the events of a pack share (profile of the ingest benchmark's producer, 200,000 events of
 * 10 features: 0.37 against 0.93 s, and garbage collection 0.26 against 0.56 s). The text is exactly what
 * `EventEncoder.encode` writes for the same request ({@link decodeEventBatch} writes it whole), so
 * nothing downstream can tell the two paths apart.
 *
 * Measured with `npm run bench -- serving`: with each request encoded and packed on the event loop,
 * tracking added about 3.3 µs of main-thread CPU to the 19.9 µs a request took, and throughput fell
 * to 0.85 of the untracked server's. What is left on the event loop is kept small in the same way
 * (the serving benchmark's profile, split into its tracking-on and tracking-off phases):
 * - the numbers are published where they lie, in shared memory (`NumericEventStore.views`), not
 *   copied into a batch of their own: 0.18 µs per request less;
 * - request ids are kept as bytes beside the numbers, not as strings: strings held for a flush
 *   interval outlive a young-generation collection or two and are copied into the old generation,
 *   and garbage collection took 0.95 µs per request more with tracking on than off; with the ids
 *   as bytes, no more.
 */

/** Events of one publish, in order, as numbers plus text (see {@link EventBatchBuilder}). */
export interface EventBatch {
  /** Events in the batch. */
  count: number;
  /**
   * The endpoints of the batch's numeric events (each event names its index here), as the JSON of
   * their `EndpointInfo`: a string crosses to a thread as one copy (an object with arrays of names is
   * walked field by field), and the thread keeps one encoder per distinct text.
   */
  endpoints: string[];
  /** The keys of the batch's events that came as text. */
  keys: string[];
  /**
   * Per event, in order. Text: `[KIND_TEXT, key index, text length]`. Numeric: `[KIND_NUMERIC,
   * endpoint index, when (epoch ms), latencyUs, request id length, rows, columns, output kind,
   * output rows, output columns, (unused here)]`, then the inputs row by row, then the outputs.
   * Either the batch's own numbers, or a view of the tracker's memory shared with threads, which a
   * stream reads before the publish settles and keeps no reference to (see `NumericEventStore.views`).
   */
  nums: Float64Array<ArrayBuffer> | Float64Array<SharedArrayBuffer>;
  /** Request ids (numeric events) and whole event texts (text events), concatenated in order. */
  text: string;
}

const KIND_NUMERIC = 0;
const KIND_TEXT = 1;
/** Output kinds: a number per row (`[1, 0]`), a row of numbers per row (`[[1, 2], [3, 4]]`). */
const OUT_FLAT = 0;
const OUT_ROWS = 1;
const NUMERIC_HEAD = 11;
const TEXT_HEAD = 3;

/** Numbers per store chunk (512 KB); a power of two, as an event's place is `chunk key × CHUNK + offset`. */
const CHUNK_BITS = 16;
const CHUNK = 1 << CHUNK_BITS;
/** Chunk keys wrap at this (so that places stay below 2^30, small integers, which the queue holds without an object each). */
const KEYS = 1 << (30 - CHUNK_BITS);
/** Chunks' numbers kept for reuse once their events are let go. */
const SPARE_CHUNKS = 2;
/** An event with more numbers than this is encoded as text at once instead. */
const MAX_EVENT_NUMBERS = 4096;
/** Most UTF-8 bytes a number takes in an event, its comma included (`-1.2345678901234567e-308,`). */
const NUMBER_BYTES = 26;
/** Most UTF-8 bytes of an event's middle besides its numbers, row brackets and request id (`when`, latency, keys). */
const MIDDLE_BYTES = 256;
/** Bytes of request ids per store chunk. */
const ID_BYTES = 1 << 18;
/** A request id longer than this is encoded as text at once instead. */
const MAX_ID_LENGTH = 1024;
/**
 * Endpoints of one chunk past which its events are published as copies ({@link EventBatchBuilder})
 * rather than in place ({@link NumericEventStore.views}): a batch in place names every endpoint of
 * its chunk, and each crosses to the stream's thread as text.
 */
const MAX_VIEW_ENDPOINTS = 32;
/** Batches in place one publish may take before its events are copied into one instead. */
const MAX_VIEWS = 8;

/**
 * A store chunk: the numbers of its events (in memory that threads can share), their request ids,
 * the endpoints they name (an event names its endpoint by its index here), how many of its events
 * are still held, and how many batches that read its numbers in place are still being published.
 */
interface Chunk {
  /** Its key: its events' places are `key × CHUNK + offset`. */
  key: number;
  nums: Float64Array<SharedArrayBuffer>;
  /** The request ids, one after the other, a byte per character (all below U+0100). */
  ids: Buffer;
  usedIds: number;
  encoders: Indexed<EventEncoder>;
  usedNums: number;
  live: number;
  viewing: number;
}

/** Batches of events published in place (see {@link NumericEventStore.views}), to hand back once their publish settles. */
export interface StoreView {
  batch: EventBatch;
  /** Events of the batch. */
  readonly count: number;
  /** The chunk it reads. */
  readonly chunk: Chunk;
}

/**
 * The numbers of tracked requests, written at `track` time into chunks of 512 KB, with their
 * request ids beside them. An event is known by its place, a small integer (`add` returns it),
 * which the tracker's queue holds without an object per event. Events added one after the other
 * lie one after the other in a chunk, and are published from there: {@link views} gives batches
 * whose numbers are the chunk's own (shared memory: a stream's thread reads them where they lie),
 * so that publishing copies nothing on the event loop but the request ids. A chunk is let go once
 * every event in it has been published or dropped ({@link release}) and no batch reads it any more;
 * its numbers are then written again only by a later chunk (see `drop`), and its key is taken again
 * only 16,384 chunks later, and never while the old chunk is held.
 */
export class NumericEventStore {
  private readonly chunks = new Map<number, Chunk>();
  /** Numbers of chunks let go, for the next chunks (see {@link drop}). */
  private readonly spare: Pick<Chunk, 'nums' | 'ids'>[] = [];
  private current: Chunk | undefined;
  private nextKey = 0;

  /** `maxEventBytes`: the largest event the tracker publishes (see request-events.ts); a request whose event might be larger is not held. */
  constructor(private readonly maxEventBytes = MAX_EVENT_BYTES) {}

  /**
   * The place of the request, kept as numbers, or undefined when it is not one this form holds:
   * inputs that are not a non-empty rectangle of numbers, outputs that are not numbers (one per
   * row, or a rectangle of rows), an error, metrics, feature names other than the endpoint's, too
   * many numbers, or an event that might pass `maxEventBytes` (a bound counted from the endpoint's
   * own text and the numbers, not the event's text). Those are encoded as text at once.
   */
  add(encoder: EventEncoder, args: EventArgs): number | undefined {
    const { inputs, outputs, requestId } = args;
    if (args.error !== undefined || outputs === undefined || !Array.isArray(inputs) || !Array.isArray(outputs)) return undefined;
    if (args.metrics !== undefined && hasKeys(args.metrics)) return undefined;
    if (args.featureNames !== undefined && !encoder.hasEndpointNames(args.featureNames)) return undefined;
    if (typeof requestId !== 'string' || typeof args.latencyUs !== 'number' || typeof args.start?.ms !== 'number') return undefined;
    const rows = inputs.length;
    const first = inputs[0];
    if (rows === 0 || !Array.isArray(first)) return undefined;
    const cols = first.length;
    const outRows = outputs.length;
    const firstOut: unknown = outputs[0];
    const outKind = Array.isArray(firstOut) ? OUT_ROWS : OUT_FLAT;
    const outCols = outKind === OUT_ROWS ? (firstOut as unknown[]).length : 0;
    const size = NUMERIC_HEAD + rows * cols + (outKind === OUT_ROWS ? outRows * outCols : outRows);
    const idLength = requestId.length;
    if (size > MAX_EVENT_NUMBERS || idLength > MAX_ID_LENGTH) return undefined;
    // An event that might be too large for one is encoded at once, and split if it is (request-events.ts).
    if (encoder.fixedBytes + NUMBER_BYTES * size + 3 * (rows + outRows) + 6 * idLength + MIDDLE_BYTES > this.maxEventBytes) return undefined;
    let chunk = this.current;
    if (!chunk || chunk.usedNums + size > CHUNK || chunk.usedIds + idLength > ID_BYTES) {
      chunk = this.newChunk();
      if (!chunk) return undefined;
    }
    const c = chunk.nums;
    const at = chunk.usedNums;
    let p = at + NUMERIC_HEAD;
    for (let r = 0; r < rows; r++) {
      const row = inputs[r];
      if (!Array.isArray(row) || row.length !== cols) return undefined;
      for (let j = 0; j < cols; j++) {
        const v: unknown = row[j];
        if (typeof v !== 'number') return undefined;
        c[p++] = v;
      }
    }
    if (outKind === OUT_FLAT) {
      for (let r = 0; r < outRows; r++) {
        const v: unknown = outputs[r];
        if (typeof v !== 'number') return undefined;
        c[p++] = v;
      }
    } else {
      for (let r = 0; r < outRows; r++) {
        const row: unknown = outputs[r];
        if (!Array.isArray(row) || row.length !== outCols) return undefined;
        for (let j = 0; j < outCols; j++) {
          const v: unknown = row[j];
          if (typeof v !== 'number') return undefined;
          c[p++] = v;
        }
      }
    }
    // The request id as bytes: nothing is held for it that the garbage collector would trace.
    const ids = chunk.ids;
    const idAt = chunk.usedIds;
    for (let i = 0; i < idLength; i++) {
      const ch = requestId.charCodeAt(i);
      if (ch > 0xff) return undefined;
      ids[idAt + i] = ch;
    }
    // The head is written last: a request given up on above leaves nothing the store counts.
    c[at] = KIND_NUMERIC;
    c[at + 1] = chunk.encoders.of(encoder);
    c[at + 2] = args.start.ms;
    c[at + 3] = args.latencyUs;
    c[at + 4] = idLength;
    c[at + 5] = rows;
    c[at + 6] = cols;
    c[at + 7] = outKind;
    c[at + 8] = outRows;
    c[at + 9] = outCols;
    c[at + 10] = idAt;
    chunk.usedNums = p;
    chunk.usedIds = idAt + idLength;
    chunk.live += 1;
    return chunk.key * CHUNK + at;
  }

  /** Lets go of the event at `place` (published, or dropped); its chunk goes with its last event. */
  release(place: number): void {
    const key = place >>> CHUNK_BITS;
    const chunk = this.chunks.get(key);
    if (chunk) this.releaseIn(chunk, 1);
  }

  /**
   * The events at `places`, in this order, as batches that read the numbers where they lie in the
   * store: one per run of events added one after the other into one chunk, with the ids of the run
   * as its text and its chunk's endpoints. Each chunk read is kept (its numbers not written again)
   * until its batch is handed back by {@link settled}, which the caller does once the batch's publish
   * has settled, whichever way (a stream reads a batch's numbers before its publish settles).
   * Undefined when the events are better copied into one batch ({@link EventBatchBuilder}): they lie
   * in more than {@link MAX_VIEWS} runs, or in a chunk of many endpoints, or one is no longer held.
   */
  views(places: readonly number[]): StoreView[] | undefined {
    // Runs first, as [first index, end index, chunk key, first offset, end offset]; batches after.
    const runs: number[] = [];
    for (let i = 0; i < places.length; ) {
      const first = places[i]!;
      const key = first >>> CHUNK_BITS;
      const chunk = this.chunks.get(key);
      if (!chunk || chunk.encoders.items.length > MAX_VIEW_ENDPOINTS || runs.length >= 5 * MAX_VIEWS) return undefined;
      const nums = chunk.nums;
      const from = first & (CHUNK - 1);
      let end = from + numericSize(nums, from);
      let j = i + 1;
      for (; j < places.length; j++) {
        const p = places[j]!;
        if (p >>> CHUNK_BITS !== key || (p & (CHUNK - 1)) !== end) break;
        end += numericSize(nums, end);
      }
      runs.push(i, j, key, from, end);
      i = j;
    }
    const out: StoreView[] = [];
    for (let r = 0; r < runs.length; r += 5) {
      const count = runs[r + 1]! - runs[r]!;
      const key = runs[r + 2]!;
      const chunk = this.chunks.get(key)!;
      const nums = chunk.nums.subarray(runs[r + 3]!, runs[r + 4]!);
      const lastAt = places[runs[r + 1]! - 1]! & (CHUNK - 1);
      const text = chunk.ids.toString('latin1', nums[10]!, chunk.nums[lastAt + 10]! + chunk.nums[lastAt + 4]!);
      chunk.viewing += 1;
      const endpoints = chunk.encoders.items.map((e) => e.endpointJson);
      out.push({ batch: { count, endpoints, keys: [], nums, text }, count, chunk });
    }
    return out;
  }

  /** Hands back a batch of {@link views} whose publish has settled: its chunk's numbers may be written again once let go. */
  settled(view: StoreView): void {
    const chunk = view.chunk;
    chunk.viewing -= 1;
    // Let go while batches still read it: its numbers become spare once the last one has settled.
    if (chunk.viewing === 0 && !this.holds(chunk)) this.recycle(chunk);
  }

  /** Lets go of the events of a batch of {@link views} (published). */
  releaseView(view: StoreView): void {
    if (this.holds(view.chunk)) this.releaseIn(view.chunk, view.count);
  }

  private holds(chunk: Chunk): boolean {
    return this.chunks.get(chunk.key) === chunk;
  }

  private releaseIn(chunk: Chunk, events: number): void {
    chunk.live -= events;
    if (chunk.live <= 0 && chunk !== this.current) this.drop(chunk);
  }

  /**
   * Lets go of a chunk whose events are all published or dropped. Its numbers are kept for the next
   * chunk (up to {@link SPARE_CHUNKS}) once no batch reads them: a batch the builder made holds a
   * copy of what it reads, and 512 KB taken fresh (and zeroed) for every few thousand requests
   * counts towards the external memory that makes V8 collect.
   */
  private drop(chunk: Chunk): void {
    this.chunks.delete(chunk.key);
    if (chunk.viewing === 0) this.recycle(chunk);
  }

  private recycle(chunk: Chunk): void {
    if (this.spare.length < SPARE_CHUNKS) this.spare.push({ nums: chunk.nums, ids: chunk.ids });
  }

  /** Events held now (added and not released), for tests. */
  get held(): number {
    let n = 0;
    for (const c of this.chunks.values()) n += c.live;
    return n;
  }

  /** Chunks held now, for tests. */
  get chunkCount(): number {
    return this.chunks.size;
  }

  /** The endpoint of the event at `place`, if it is still held. */
  endpointOf(place: number): EndpointInfo | undefined {
    const chunk = this.chunks.get(place >>> CHUNK_BITS);
    return chunk ? chunk.encoders.items[chunk.nums[(place & (CHUNK - 1)) + 1]!]?.endpoint : undefined;
  }

  /** The chunk of a place, for the batch builder. */
  chunkOf(place: number): Chunk | undefined {
    return this.chunks.get(place >>> CHUNK_BITS);
  }

  private newChunk(): Chunk | undefined {
    const old = this.current;
    this.current = undefined;
    if (old && old.live <= 0) this.drop(old);
    // A key still in use (a queue holding events of 16,384 chunks ago) is not taken twice.
    const key = this.nextKey;
    if (this.chunks.has(key)) return undefined;
    this.nextKey = (key + 1) % KEYS;
    const { nums, ids } = this.spare.pop() ?? { nums: new Float64Array(new SharedArrayBuffer(CHUNK * Float64Array.BYTES_PER_ELEMENT)), ids: Buffer.alloc(ID_BYTES) };
    const chunk: Chunk = { key, nums, ids, usedIds: 0, encoders: new Indexed(), usedNums: 0, live: 0, viewing: 0 };
    this.chunks.set(key, chunk);
    this.current = chunk;
    return chunk;
  }
}

/** Items numbered in the order they first come, for events that name them by number. */
class Indexed<T> {
  readonly items: T[] = [];
  private readonly index = new Map<T, number>();
  // Events mostly name what the one before named: that is answered without a lookup.
  private last: T | undefined;
  private lastIndex = 0;

  /** The number of `item`, given the next one if it is new. */
  of(item: T): number {
    if (item === this.last) return this.lastIndex;
    let i = this.index.get(item);
    if (i === undefined) {
      i = this.items.length;
      this.items.push(item);
      this.index.set(item, i);
    }
    this.last = item;
    this.lastIndex = i;
    return i;
  }
}

/** Builds one {@link EventBatch} from events in publish order: places in a {@link NumericEventStore}, and messages. */
export class EventBatchBuilder {
  private readonly encoders = new Indexed<EventEncoder>();
  private readonly keys = new Indexed<string>();
  private readonly parts: (number | OutgoingMessage)[] = [];
  private size = 0;

  constructor(private readonly store: NumericEventStore) {}

  get count(): number {
    return this.parts.length;
  }

  /**
   * Adds the event at `place` in the store.
   * @throws Error when the store no longer holds it (released)
   */
  addNumeric(place: number): void {
    const chunk = this.store.chunkOf(place);
    if (!chunk) throw new Error(`tracked event ${place} is no longer held`);
    this.parts.push(place);
    this.size += numericSize(chunk.nums, place & (CHUNK - 1));
  }

  addText(message: OutgoingMessage): void {
    this.parts.push(message);
    this.size += TEXT_HEAD;
  }

  build(): EventBatch {
    const nums = new Float64Array(this.size);
    const text: string[] = [];
    let p = 0;
    // Events tracked one after the other lie one after the other in a chunk: each such run (numbers
    // and request ids) is copied at once, and the endpoint index of each event written after.
    let run: Chunk | undefined;
    let runAt = 0;
    let runEnd = 0;
    let runTo = 0;
    let runIdAt = 0;
    let runIdEnd = 0;
    const flush = () => {
      if (!run) return;
      nums.set(run.nums.subarray(runAt, runEnd), runTo);
      text.push(run.ids.toString('latin1', runIdAt, runIdEnd));
      run = undefined;
    };
    const heads: number[] = [];
    const headEncoders: EventEncoder[] = [];
    let lastKey = -1;
    let lastChunk: Chunk | undefined;
    for (const part of this.parts) {
      if (typeof part === 'number') {
        // A batch's events mostly share a chunk: the last one looked up is kept.
        if (part >>> CHUNK_BITS !== lastKey) {
          lastKey = part >>> CHUNK_BITS;
          lastChunk = this.store.chunkOf(part)!;
        }
        const chunk = lastChunk!;
        const at = part & (CHUNK - 1);
        const size = numericSize(chunk.nums, at);
        if (chunk !== run || at !== runEnd) {
          flush();
          run = chunk;
          runAt = at;
          runTo = p;
          runIdAt = chunk.nums[at + 10]!;
        }
        runEnd = at + size;
        runIdEnd = chunk.nums[at + 10]! + chunk.nums[at + 4]!;
        heads.push(p);
        headEncoders.push(chunk.encoders.items[chunk.nums[at + 1]!]!);
        p += size;
      } else {
        // A run of numbers continues only where its copy does: not across a text event.
        flush();
        nums[p] = KIND_TEXT;
        nums[p + 1] = this.keys.of(part.key);
        nums[p + 2] = part.value.length;
        text.push(part.value);
        p += TEXT_HEAD;
      }
    }
    flush();
    // Each numeric event's endpoint, as an index into this batch's endpoints.
    for (let i = 0; i < heads.length; i++) nums[heads[i]! + 1] = this.encoders.of(headEncoders[i]!);
    const endpoints = this.encoders.items.map((e) => e.endpointJson);
    return { count: this.parts.length, endpoints, keys: this.keys.items, nums, text: text.join('') };
  }
}

/** Numbers an event takes, from its head. */
function numericSize(nums: Float64Array, at: number): number {
  const rows = nums[at + 5]!;
  const cols = nums[at + 6]!;
  const outRows = nums[at + 8]!;
  return NUMERIC_HEAD + rows * cols + (nums[at + 7] === OUT_ROWS ? outRows * nums[at + 9]! : outRows);
}

/**
 * The messages of a batch: each numeric event written by `EventEncoder.encode`, each text event as
 * it came.
 * @throws Error when the batch is not one {@link EventBatchBuilder} built (corrupt, or from another version)
 */
export function decodeEventBatch(batch: EventBatch): OutgoingMessage[] {
  const out = new Array<OutgoingMessage>(batch.count);
  const { nums } = batch;
  readEventBatch(
    batch,
    (i, encoder, _, h) => {
      out[i] = { key: encoder.endpoint.endpointId, value: encoder.encode(argsOf(nums, h)) };
    },
    (i, key, value) => {
      out[i] = { key, value };
    },
  );
  return out;
}

/** A batch of numeric events only, their middles written one after the other into one buffer (see {@link eventBatchMiddleBytes}). */
export interface EventBatchMiddleBytes {
  /** The batch's endpoints, as encoders. */
  encoders: EventEncoder[];
  /** Per event, the index of its encoder. */
  encoderOf: Uint32Array;
  /** The middles, event after event: event `i`'s is `out.text(ends[i - 1] ?? 0, ends[i])`. */
  out: Latin1Writer;
  /** Per event, where its middle ends in `out`. */
  ends: Uint32Array;
}

/**
 * The events of a batch that holds numeric events only (no text event: its `keys` is empty), each
 * as the middle of the text `decodeEventBatch` gives it: a numeric event has no metrics, no error
 * and its endpoint's own feature names, so its text is `head + middle + plainTail` of its encoder.
 * The middles are written from the numbers as they lie in the batch into one buffer of one-byte
 * characters (see latin1-writer.ts), with no string or array made per event, for a thread that
 * puts them together into packs (a store keeps as numbers only requests whose ids are one-byte
 * characters, below U+0100). Undefined for a batch with text events.
 * @throws Error when the batch is not one {@link EventBatchBuilder} built (corrupt, or from another version)
 */
export function eventBatchMiddleBytes(batch: EventBatch): EventBatchMiddleBytes | undefined {
  if (batch.keys.length > 0) return undefined;
  const encoderOf = new Uint32Array(batch.count);
  const ends = new Uint32Array(batch.count);
  const { nums } = batch;
  const out = new Latin1Writer(batch.text.length + nums.length * 12 + batch.count * 96);
  // Request ids all of characters JSON writes as they are (the usual case, and always for serving's
  // own ids) are copied from the batch's text as bytes, between quotes.
  const ids = PLAIN_TEXT.test(batch.text) ? Buffer.from(batch.text, 'latin1') : undefined;
  const encoders = readEventBatch(
    batch,
    (i, _, index, h) => {
      encoderOf[i] = index;
      writeNumericMiddle(out, nums, h, ids);
      ends[i] = out.len;
    },
    () => {
      throw new Error('an event batch with text events has no middles');
    },
  );
  return { encoders, encoderOf, out, ends };
}

const LATENCY = latin1('","latencyUs":');
const REQUEST_ID = latin1(',"request":{"id":');
const INPUTS = latin1(',"inputs":[');
const OUTPUTS = latin1(']},"response":{"outputs":[');
const END = latin1(']}');
const QUOTE = 0x22;
const COMMA = 0x2c;
const OPEN = 0x5b;
const CLOSE = 0x5d;

/** `EventEncoder.middle` of a numeric event, written into `out` from its numbers, with the batch's text as bytes when its request ids are plain. */
function writeNumericMiddle(out: Latin1Writer, nums: Float64Array, h: NumericHead, ids: Uint8Array | undefined): void {
  let q = h.at;
  out.when(h.ms);
  out.bytes(LATENCY);
  out.number(h.latencyUs);
  out.bytes(REQUEST_ID);
  if (ids) {
    out.byte(QUOTE);
    out.copy(ids, h.idAt, h.idAt + h.requestId.length);
    out.byte(QUOTE);
  } else if (!out.string(h.requestId)) {
    throw new Error('an event batch cannot be read: a request id kept as numbers has a character past U+00FF');
  }
  out.bytes(INPUTS);
  for (let r = 0; r < h.rows; r++) {
    if (r > 0) out.byte(COMMA);
    q = writeNumberRow(out, nums, q, h.cols);
  }
  out.bytes(OUTPUTS);
  for (let r = 0; r < h.outRows; r++) {
    if (r > 0) out.byte(COMMA);
    if (h.outKind === OUT_FLAT) out.number(nums[q++]!);
    else q = writeNumberRow(out, nums, q, h.outCols);
  }
  out.bytes(END);
}

/** Writes `[n, ...]` of the `count` numbers from `nums[q]`; returns where the next number is. */
function writeNumberRow(out: Latin1Writer, nums: Float64Array, q: number, count: number): number {
  out.byte(OPEN);
  for (let j = 0; j < count; j++) {
    if (j > 0) out.byte(COMMA);
    out.number(nums[q++]!);
  }
  out.byte(CLOSE);
  return q;
}

/** A numeric event's head as {@link readEventBatch} reads it; `at` is where its inputs begin. */
interface NumericHead {
  at: number;
  ms: number;
  latencyUs: number;
  requestId: string;
  /** Where the request id lies in the batch's text. */
  idAt: number;
  rows: number;
  cols: number;
  outKind: number;
  outRows: number;
  outCols: number;
}

/** The request of a numeric event, with its inputs and outputs as arrays. */
function argsOf(nums: Float64Array, h: NumericHead): EventArgs {
  let q = h.at;
  const inputs = new Array<number[]>(h.rows);
  for (let r = 0; r < h.rows; r++) {
    const row = new Array<number>(h.cols);
    for (let j = 0; j < h.cols; j++) row[j] = nums[q++]!;
    inputs[r] = row;
  }
  const outputs = new Array<unknown>(h.outRows);
  for (let r = 0; r < h.outRows; r++) {
    if (h.outKind === OUT_FLAT) {
      outputs[r] = nums[q++]!;
    } else {
      const row = new Array<number>(h.outCols);
      for (let j = 0; j < h.outCols; j++) row[j] = nums[q++]!;
      outputs[r] = row;
    }
  }
  return { start: { ns: 0n, ms: h.ms }, latencyUs: h.latencyUs, requestId: h.requestId, inputs, outputs };
}

/**
 * Walks a batch's events in order: a numeric event as its encoder (and that encoder's index in the
 * returned list) and its head (one object, reused from event to event), a text event as its key
 * and value.
 * @throws Error when the batch is not one {@link EventBatchBuilder} built (corrupt, or from another version)
 */
function readEventBatch(
  batch: EventBatch,
  numeric: (i: number, encoder: EventEncoder, encoderIndex: number, head: NumericHead) => void,
  textEvent: (i: number, key: string, value: string) => void,
): EventEncoder[] {
  const { nums, text, count } = batch;
  const encoders = batch.endpoints.map(encoderFor);
  const head: NumericHead = { at: 0, ms: 0, latencyUs: 0, requestId: '', idAt: 0, rows: 0, cols: 0, outKind: 0, outRows: 0, outCols: 0 };
  let p = 0;
  let t = 0;
  const bad = (why: string) => new Error(`an event batch of ${count} events cannot be read: ${why}`);
  for (let i = 0; i < count; i++) {
    if (p >= nums.length) throw bad('it ends early');
    const kind = nums[p];
    if (kind === KIND_TEXT) {
      const key = p + TEXT_HEAD <= nums.length ? batch.keys[nums[p + 1]!] : undefined;
      const len = nums[p + 2]!;
      if (key === undefined || !isCount(len) || t + len > text.length) throw bad(`event ${i} is out of range`);
      textEvent(i, key, text.slice(t, t + len));
      t += len;
      p += TEXT_HEAD;
      continue;
    }
    const e = nums[p + 1]!;
    const encoder = encoders[e];
    if (kind !== KIND_NUMERIC || encoder === undefined) throw bad(`event ${i} is of no known kind`);
    if (p + NUMERIC_HEAD > nums.length) throw bad(`event ${i} is out of range`);
    const idLen = nums[p + 4]!;
    const rows = nums[p + 5]!;
    const cols = nums[p + 6]!;
    const outKind = nums[p + 7]!;
    const outRows = nums[p + 8]!;
    const outCols = nums[p + 9]!;
    const end = p + numericSize(nums, p);
    if (!(isCount(idLen) && isCount(rows) && isCount(cols) && isCount(outRows) && isCount(outCols)) || (outKind !== OUT_FLAT && outKind !== OUT_ROWS)) {
      throw bad(`event ${i} has a broken head`);
    }
    if (end > nums.length || t + idLen > text.length) throw bad(`event ${i} is out of range`);
    head.at = p + NUMERIC_HEAD;
    head.ms = nums[p + 2]!;
    head.latencyUs = nums[p + 3]!;
    head.requestId = text.slice(t, t + idLen);
    head.idAt = t;
    head.rows = rows;
    head.cols = cols;
    head.outKind = outKind;
    head.outRows = outRows;
    head.outCols = outCols;
    t += idLen;
    numeric(i, encoder, e, head);
    p = end;
  }
  if (p !== nums.length || t !== text.length) throw bad('it holds more than its events');
  return encoders;
}

const isCount = (n: number): boolean => Number.isInteger(n) && n >= 0;

/** Encoders by the JSON of their endpoint, kept across batches (a thread decodes many of few endpoints). */
const encoderCache = new Map<string, EventEncoder>();
const ENCODER_CACHE_MAX = 10_000;

function encoderFor(json: string): EventEncoder {
  let enc = encoderCache.get(json);
  if (!enc) {
    if (encoderCache.size >= ENCODER_CACHE_MAX) encoderCache.clear();
    const endpoint = JSON.parse(json) as EndpointInfo | null;
    if (typeof endpoint?.endpointId !== 'string') throw new Error('an event batch names an endpoint without an endpointId');
    enc = new EventEncoder(endpoint);
    encoderCache.set(json, enc);
  }
  return enc;
}
