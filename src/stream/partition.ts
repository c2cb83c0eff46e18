/**
 * Key → partition mapping shared by every stream backend, so that one endpoint's events land
 * in the same partition (and stay in order) whichever backend carries them.
 */

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const encoder = new TextEncoder();

/** 32-bit FNV-1a over the UTF-8 bytes of `key` (unsigned). Stable across processes and versions. */
export function fnv1a32(key: string): number {
  let hash = FNV_OFFSET_BASIS;
  for (const byte of encoder.encode(key)) {
    hash ^= byte;
    hash = Math.imul(hash, FNV_PRIME) >>> 0;
  }
  return hash >>> 0;
}

/** The partition (0-based) that carries messages with this key, out of `partitions`. */
export function partitionFor(key: string, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new RangeError(`partitions must be a whole number >= 1, got ${String(partitions)}`);
  }
  if (partitions === 1) return 0;
  return fnv1a32(key) % partitions;
}
