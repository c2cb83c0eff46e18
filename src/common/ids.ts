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
const uuidCodes: number[] = Array.from('xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx', (c) => c.charCodeAt(0));

/**
 * A random (version 4) UUID, as `crypto.randomUUID()` makes one, for requests that bring no id.
 * The string is made in one piece: `randomUUID` joins some twenty pieces, a tree of strings that
 * whatever reads its characters first must copy into one (tracking does, to keep the id; measured
 * in the serving benchmark's profile: 0.5 µs per request on the event loop, more than making it).
 */
export function requestUuid(): string {
  if (uuidPoolAt === uuidPool.length) {
    randomFillSync(uuidPool);
    uuidPoolAt = 0;
  }
  const codes = uuidCodes;
  let k = 0;
  for (let i = 0; i < 16; i++) {
    let b = uuidPool[uuidPoolAt + i]!;
    if (i === 6) b = (b & 0x0f) | 0x40; // version 4
    else if (i === 8) b = (b & 0x3f) | 0x80; // variant 10xx
    if (i === 4 || i === 6 || i === 8 || i === 10) k += 1; // a dash
    codes[k++] = HEX_DIGITS[b >> 4]!;
    codes[k++] = HEX_DIGITS[b & 15]!;
  }
  uuidPoolAt += 16;
  return String.fromCharCode.apply(null, codes);
}
