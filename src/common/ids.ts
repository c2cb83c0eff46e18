import { createHash, randomFillSync } from 'node:crypto';

/**
 * Model endpoint id: a stable hash of (project, function, tag, model, version), the same
 * recipe as the peer (`sha1("{project}_{function}_{tag}_{model}_{version}")`), so ids survive
 * restarts and match across processes.
 */
export function endpointId(parts: { project: string; function: string; tag?: string; model: string; version?: string }): string {
  const key = `${parts.project}_${parts.function}_${parts.tag ?? 'latest'}_${parts.model}_${parts.version ?? ''}`;
  return createHash('sha1').update(key).digest('hex');
}

/** Random bytes for {@link requestUuid}, drawn 256 ids at a time. */
const uuidPool = Buffer.alloc(16 * 256);
let uuidPoolAt = uuidPool.length;
const HEX_DIGITS = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
/** Character codes of the next id: the dashes stay, the digits are written over. */
const uuidCodes: number[] = Array.from('xxxxxxxx-xxxx-7xxx-yxxx-xxxxxxxxxxxx', (c) => c.charCodeAt(0));

/**
 * A time-ordered (version 7) UUID for requests that bring no id: 48 bits of Unix milliseconds, then
 * random bits. Ids made one after another sort together, so the index that finds predictions by
 * request id grows at its end; random (version 4) ids landed on a random page each, which cost the
 * SQLite writer about four times the CPU per row. Made in one piece, not joined from parts (tracking
 * keeps the id, and a joined string must first be flattened).
 */
export function requestUuid(): string {
  if (uuidPoolAt === uuidPool.length) {
    randomFillSync(uuidPool);
    uuidPoolAt = 0;
  }
  const codes = uuidCodes;
  const ms = Date.now();
  let k = 0;
  for (let i = 0; i < 16; i++) {
    let b = i < 6 ? Math.floor(ms / 2 ** (8 * (5 - i))) & 0xff : uuidPool[uuidPoolAt + i]!;
    if (i === 6) b = (b & 0x0f) | 0x70; // version 7
    else if (i === 8) b = (b & 0x3f) | 0x80; // variant 10xx
    if (i === 4 || i === 6 || i === 8 || i === 10) k += 1; // a dash
    codes[k++] = HEX_DIGITS[b >> 4]!;
    codes[k++] = HEX_DIGITS[b & 15]!;
  }
  uuidPoolAt += 16;
  return String.fromCharCode.apply(null, codes);
}
