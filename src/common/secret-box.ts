import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ModelwatchError } from './errors.ts';

/*
 * Secrets at rest (connection URLs in credentials and function specs, and any later secret such as a
 * notification's): AES-256-GCM under one key per installation. A sealed value is a string
 * `mwsec:v1:<key id>:<base64 of iv, tag and ciphertext>`; the key id (a hash of the key) says which
 * key sealed it, so that a process holding another key fails with a message rather than garbage.
 */

/** Environment variable holding the key: 32 bytes, base64. */
export const SECRET_KEY_ENV = 'MODELWATCH_SECRET_KEY';
/** The key file in the home folder, created (mode 0600) on first need when the environment names no key. */
export const SECRET_KEY_FILE = 'secret.key';

const PREFIX = 'mwsec:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** An installation's secret key and where it came from. */
export interface SecretKey {
  readonly key: Buffer;
  /** Short hash of the key, stored with every sealed value. */
  readonly id: string;
  /** `MODELWATCH_SECRET_KEY` or the key file's path, for messages. */
  readonly source: string;
}

/** True when `value` was sealed by {@link encryptSecret}. */
export function isSealed(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(PREFIX);
}

/** Seals `plain` under `key` (a fresh IV each time). A value already sealed is returned as it is. */
export function encryptSecret(plain: string, key: SecretKey): string {
  if (isSealed(plain)) return plain;
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.key, iv);
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return `${PREFIX}${key.id}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
}

/**
 * Opens a value sealed by {@link encryptSecret}. A value that is not sealed (stored in the clear
 * by an earlier version) is returned as it is.
 * @throws ModelwatchError `secret_key_unavailable` without a key, or with another key than the one
 *   that sealed it; `secret_corrupt` when the value does not authenticate.
 */
export function decryptSecret(value: string, key: SecretKey | undefined, what = 'a stored secret'): string {
  if (!isSealed(value)) return value;
  const rest = value.slice(PREFIX.length);
  const colon = rest.indexOf(':');
  const keyId = rest.slice(0, colon);
  if (!key || key.id !== keyId) throw keyUnavailable(what, keyId, key);
  const raw = Buffer.from(rest.slice(colon + 1), 'base64');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.key, raw.subarray(0, IV_BYTES));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch (cause) {
    throw new ModelwatchError('secret_corrupt', `${what} does not open with key ${key.id}: it was altered or is damaged`, { cause });
  }
}

/** The id of the key that sealed `value`, or undefined when it is not sealed. */
export function sealedKeyId(value: string): string | undefined {
  if (!isSealed(value)) return undefined;
  const rest = value.slice(PREFIX.length);
  return rest.slice(0, rest.indexOf(':'));
}

/**
 * The installation's key, found the same way by every process (server, CLI, `modelwatch worker`):
 * `MODELWATCH_SECRET_KEY` when set, else `<home>/secret.key` when it exists, else undefined.
 * @throws ModelwatchError `invalid_secret_key` when either holds something other than 32 bytes in base64.
 */
export function readSecretKey(home: string, env: NodeJS.ProcessEnv = process.env): SecretKey | undefined {
  const fromEnv = env[SECRET_KEY_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return parseSecretKey(fromEnv, SECRET_KEY_ENV);
  const file = path.join(home, SECRET_KEY_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return parseSecretKey(text, file);
}

/**
 * Creates `<home>/secret.key` (mode 0600) holding a new random key, or reads the one another
 * process created first.
 */
export function createSecretKeyFile(home: string): SecretKey {
  const file = path.join(home, SECRET_KEY_FILE);
  try {
    fs.writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return parseSecretKey(fs.readFileSync(file, 'utf8'), file);
}

/** A key given as base64 text (32 bytes). */
export function parseSecretKey(text: string, source: string): SecretKey {
  const trimmed = text.trim();
  const key = Buffer.from(trimmed, 'base64');
  if (key.length !== 32 || !/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) {
    throw new ModelwatchError('invalid_secret_key', `${source} must hold a 32-byte key in base64 (as \`openssl rand -base64 32\` prints), got ${key.length} bytes`);
  }
  return { key, id: createHash('sha256').update('modelwatch-secret-key\0').update(key).digest('hex').slice(0, 8), source };
}

function keyUnavailable(what: string, keyId: string, key: SecretKey | undefined): ModelwatchError {
  const have = key ? `this process has key ${key.id} (from ${key.source})` : `this process has no key`;
  return new ModelwatchError(
    'secret_key_unavailable',
    `${what} is encrypted with key ${keyId} and ${have}: give every process of this installation the same key, ` +
      `in ${SECRET_KEY_ENV} (base64) or as ${SECRET_KEY_FILE} in its home folder (copy the server's)`,
    { details: { keyId } },
  );
}
