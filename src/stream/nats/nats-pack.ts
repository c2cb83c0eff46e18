import type { OutgoingMessage } from '../port.ts';

/**
 * Several events travel in one JetStream message (a "pack"): a JSON array of `[key, value]` pairs,
 * marked by the `Mw-Pack: 1` header. `Mw-Base` is the partition offset of the pack's first event
 * and `Mw-Count` the number of events, so event `i` of a pack has offset `base + i`: offsets count
 * events per partition (as Kafka's do), whatever the packing.
 */
export const PACK_HEADER = 'Mw-Pack';
export const BASE_HEADER = 'Mw-Base';
export const COUNT_HEADER = 'Mw-Count';
export const PACK_VERSION = '1';

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

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The body of a pack. */
export function encodeEntries(messages: readonly OutgoingMessage[]): Uint8Array {
  return encoder.encode(JSON.stringify(messages.map((m) => [m.key, m.value])));
}

/** What {@link decodePack} reads from a JetStream message. */
export interface RawPack {
  seq: number;
  headers: { get(name: string): string } | undefined;
  data: Uint8Array;
  timestampMs: number;
}

/** Reads a pack; undefined for a message that modelwatch did not write. */
export function decodePack(raw: RawPack): Pack | undefined {
  const h = raw.headers;
  if (!h || h.get(PACK_HEADER) !== PACK_VERSION) return undefined;
  const base = Number(h.get(BASE_HEADER));
  if (!Number.isSafeInteger(base) || base < 0) return undefined;
  let entries: unknown;
  try {
    entries = JSON.parse(decoder.decode(raw.data));
  } catch {
    return undefined;
  }
  if (!Array.isArray(entries)) return undefined;
  return { seq: raw.seq, base, entries: entries as [string, string][], timestamp: raw.timestampMs };
}

/** The offset right after a stored pack, from its headers alone. */
export function nextOffsetAfter(headers: { get(name: string): string } | undefined): number | undefined {
  if (!headers || headers.get(PACK_HEADER) !== PACK_VERSION) return undefined;
  const base = Number(headers.get(BASE_HEADER));
  const count = Number(headers.get(COUNT_HEADER));
  return Number.isSafeInteger(base) && Number.isSafeInteger(count) ? base + count : undefined;
}
