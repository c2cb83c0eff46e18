import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { ValidationError } from '../common/errors.ts';
import type { Store } from '../store/port.ts';

/*
 * Per-person API tokens. A token reads `mwt_<id>_<secret>`: the id (16 hex digits) finds its one
 * row, so that checking a token costs one lookup and one hash, not one hash per stored token; the
 * secret is 32 random bytes. The store keeps the id and an scrypt hash of the whole token (a salt
 * of its own per token), never the token.
 */

/** What a role may do. */
export type Permission = 'read' | 'write' | 'invoke' | 'admin';

/**
 * The roles, each with its permissions:
 * - `viewer` reads (projects, functions, models, endpoints, results, events);
 * - `invoker` only calls serving functions (through the API's invoke, or a function that requires a token);
 * - `editor` reads, changes configs (projects, monitoring, functions, models), deploys and invokes;
 * - `admin` does all that and manages credentials, tokens and project deletion.
 */
export const ROLE_PERMISSIONS = {
  viewer: ['read'],
  invoker: ['invoke'],
  editor: ['read', 'write', 'invoke'],
  admin: ['read', 'write', 'invoke', 'admin'],
} as const satisfies Record<string, readonly Permission[]>;

export type Role = keyof typeof ROLE_PERMISSIONS;

/** Every role, in the order help texts list them. */
export const ROLES = Object.keys(ROLE_PERMISSIONS) as Role[];

/** A stored token: everything but the token itself. */
export interface TokenRecord {
  /** The 16 hex digits after `mwt_`; shown by `tokens list` and used to revoke. */
  id: string;
  /** Whose token it is (a person or a service). */
  name: string;
  role: Role;
  /** The one project it reaches; null: every project. */
  project: string | null;
  /** `scrypt$N$r$p$<salt base64>$<hash base64>`. */
  hash: string;
  createdAt: number;
  revokedAt: number | null;
}

/** A token as read APIs show it: everything but its hash. */
export type TokenView = Omit<TokenRecord, 'hash'>;

/** What creating a token answers: the token itself, shown this once. */
export interface CreatedToken extends TokenView {
  token: string;
}

/** What a verified token stands for. */
export interface Principal {
  tokenId: string;
  name: string;
  role: Role;
  project: string | null;
}

const TOKEN_RE = /^mwt_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
/** scrypt's cost: 16 MiB and about 50 ms per hash, paid once per token and process (see `TokenVerifier`). */
const SCRYPT = { N: 16_384, r: 8, p: 1 } as const;
const KEY_BYTES = 32;

/** True when `role` names a role. */
export function isRole(role: unknown): role is Role {
  return typeof role === 'string' && Object.hasOwn(ROLE_PERMISSIONS, role);
}

/** True when `role` has `permission`. */
export function roleAllows(role: Role, permission: Permission): boolean {
  return (ROLE_PERMISSIONS[role] as readonly Permission[]).includes(permission);
}

/** A new token: its id, and the whole token (shown once, never stored). */
export function generateToken(): { id: string; token: string } {
  const id = randomBytes(8).toString('hex');
  return { id, token: `mwt_${id}_${randomBytes(32).toString('base64url')}` };
}

/** The id of a well-formed token, else undefined. */
export function tokenId(token: string): string | undefined {
  return TOKEN_RE.exec(token)?.[1];
}

/** Checks the fields of a token to be created. @throws ValidationError naming the bad one. */
export function checkTokenFields(f: { name: unknown; role: unknown }): void {
  if (typeof f.name !== 'string' || !/^[\p{L}\p{N} ._@+-]{1,100}$/u.test(f.name)) {
    throw new ValidationError("a token's name must be 1-100 letters, digits, spaces or . _ @ + - (say whose it is)");
  }
  if (!isRole(f.role)) throw new ValidationError(`role must be one of ${ROLES.join(', ')}, got '${String(f.role)}'`);
}

/** The scrypt hash of a token, with a fresh salt, as stored. */
export async function hashToken(token: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(token, salt, KEY_BYTES, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** True when `token` hashes to `stored` (compared in constant time). */
export async function verifyTokenHash(token: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  if (!(N > 1 && r > 0 && p > 0) || expected.length === 0) return false;
  const actual = await scryptAsync(token, salt, expected.length, { N, r, p });
  return timingSafeEqual(actual, expected);
}

function scryptAsync(password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, keylen, { ...opts, maxmem: 256 * (opts.N ?? 16_384) * (opts.r ?? 8) * (opts.p ?? 1) }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/**
 * Creates a token and stores its hash: what `modelwatch tokens create` (through `POST /tokens`)
 * does. The token is in the answer only.
 */
export async function issueToken(
  store: Pick<Store, 'createToken'>,
  opts: { name: string; role: Role; project?: string | null; now: number },
): Promise<{ record: TokenRecord; token: string }> {
  checkTokenFields(opts);
  const { id, token } = generateToken();
  const record: TokenRecord = { id, name: opts.name, role: opts.role, project: opts.project ?? null, hash: await hashToken(token), createdAt: opts.now, revokedAt: null };
  await store.createToken(record);
  return { record, token };
}
