import { decodePackIndex, encodePack, unpack, type PackIndex, type PackRow } from '../pack.ts';
import type { OutgoingMessage } from '../port.ts';

/**
 * Several events travel in one JetStream message (a "pack"), marked by the `Mw-Pack` header.
 * `Mw-Base` is the partition offset of the pack's first event and `Mw-Count` the number of
 * events, so event `i` of a pack has offset `base + i`: offsets count events per partition (as
 * Kafka's do), whatever the packing.
 *
 * Body of version 3 (written): UTF-8 text, the pack's JSON index (`PackIndex` of ../pack.ts: the
 * lengths, the keys, and per key the beginning and end its events share, stored once), a newline,
 * then the events' remaining middles back to back. The values (JSON already) go in verbatim: no
 * second JSON escaping on the producer, one decode and string slices on the reader; what the
 * events of one endpoint share (ids, model URI, feature names) is about half of an event.
 * Body of version 2 (still read): `<n>:<k0>,<v0>,<k1>,<v1>,...\n` followed by every key and value
 * back to back, the lengths counting UTF-16 code units.
 * Body of version 1 (still read): a JSON array of `[key, value]` pairs.
 */
export const PACK_HEADER = 'Mw-Pack';
export const BASE_HEADER = 'Mw-Base';
export const COUNT_HEADER = 'Mw-Count';
/** The version written. */
export const PACK_VERSION = '3';
const PACK_V2 = '2';
const PACK_V1 = '1';
const READ_VERSIONS: ReadonlySet<string | undefined> = new Set([PACK_VERSION, PACK_V2, PACK_V1]);

/** The events of one stored JetStream message. */
export interface Pack {
  /** JetStream stream sequence of the message. */
  seq: number;
  /** Offset of the first event. */
  base: number;
  entries: [key: string, value: string][];
  /** Epoch ms when the server stored it. */
  timestamp: number;
}

/** The head of a version-3 pack of no events. */
const EMPTY_INDEX = JSON.stringify({ lens: [], keys: [] } satisfies PackIndex);
const COLON = 0x3a;
const NEWLINE = 0x0a;

/** The body of a pack (version {@link PACK_VERSION}). */
export function encodeEntries(messages: readonly OutgoingMessage[]): Uint8Array {
  if (messages.length === 0) return Buffer.from(`${EMPTY_INDEX}\n`, 'utf8');
  return packRowBody(encodePack(messages));
}

/** The body (version {@link PACK_VERSION}) of a pack made by `encodePack` or `knownPackRow`. */
export function packRowBody(row: PackRow): Uint8Array {
  const index = row.pack ?? JSON.stringify({ lens: [row.value.length], keys: [row.key] } satisfies PackIndex);
  return Buffer.from(`${index}\n${row.value}`, 'utf8');
}

/** What {@link decodePack} reads from a JetStream message. */
export interface RawPack {
  seq: number;
  headers: { get(name: string): string } | undefined;
  data: Uint8Array;
  timestampMs: number;
}

/** Reads a pack; undefined for a message that modelwatch did not write (or a damaged one). */
export function decodePack(raw: RawPack): Pack | undefined {
  const base = baseOffsetOf(raw.headers);
  if (base === undefined) return undefined;
  const version = raw.headers!.get(PACK_HEADER);
  const entries = version === PACK_VERSION ? decodeSharedEntries(raw.data) : version === PACK_V2 ? decodeEntries(raw.data) : decodeJsonEntries(raw.data);
  return entries ? { seq: raw.seq, base, entries, timestamp: raw.timestampMs } : undefined;
}

/** A version-3 body's entries; undefined when it is malformed. */
export function decodeSharedEntries(data: Uint8Array): [string, string][] | undefined {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const newline = buf.indexOf(NEWLINE);
  if (newline < 0) return undefined;
  const head = buf.toString('utf8', 0, newline);
  const value = buf.toString('utf8', newline + 1);
  if (head === EMPTY_INDEX) return value === '' ? [] : undefined;
  try {
    return unpack(decodePackIndex(head, undefined, value.length), value).map((m) => [m.key, m.value]);
  } catch {
    return undefined;
  }
}

/** A version-2 body's entries; undefined when it is malformed. */
export function decodeEntries(data: Uint8Array): [string, string][] | undefined {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const colon = buf.indexOf(COLON);
  const newline = buf.indexOf(NEWLINE);
  if (colon < 1 || newline < colon) return undefined;
  const n = Number(buf.toString('latin1', 0, colon));
  if (!Number.isSafeInteger(n) || n < 0) return undefined;
  const lengths = n === 0 ? [] : buf.toString('latin1', colon + 1, newline).split(',');
  if (lengths.length !== 2 * n) return undefined;
  const text = buf.toString('utf8', newline + 1);
  const entries: [string, string][] = new Array<[string, string]>(n);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const kl = Number(lengths[2 * i]);
    const vl = Number(lengths[2 * i + 1]);
    if (!Number.isSafeInteger(kl) || !Number.isSafeInteger(vl) || kl < 0 || vl < 0 || at + kl + vl > text.length) return undefined;
    entries[i] = [text.slice(at, at + kl), text.slice(at + kl, at + kl + vl)];
    at += kl + vl;
  }
  return at === text.length ? entries : undefined;
}

const decoder = new TextDecoder();

function decodeJsonEntries(data: Uint8Array): [string, string][] | undefined {
  let entries: unknown;
  try {
    entries = JSON.parse(decoder.decode(data));
  } catch {
    return undefined;
  }
  return Array.isArray(entries) ? (entries as [string, string][]) : undefined;
}

/** The offset of a stored pack's first event, from its headers alone. */
export function baseOffsetOf(headers: { get(name: string): string } | undefined): number | undefined {
  if (!headers || !READ_VERSIONS.has(headers.get(PACK_HEADER))) return undefined;
  const base = Number(headers.get(BASE_HEADER));
  return Number.isSafeInteger(base) && base >= 0 ? base : undefined;
}

/** The offset right after a stored pack, from its headers alone. */
export function nextOffsetAfter(headers: { get(name: string): string } | undefined): number | undefined {
  const base = baseOffsetOf(headers);
  const count = Number(headers?.get(COUNT_HEADER));
  return base !== undefined && Number.isSafeInteger(count) ? base + count : undefined;
}
