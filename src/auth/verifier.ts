import { createHash, timingSafeEqual } from 'node:crypto';
import type { Store } from '../store/port.ts';
import { roleAllows, tokenId, verifyTokenHash, type Permission, type Principal } from './tokens.ts';

/** Verified tokens kept in memory per process; more are verified again (one scrypt each). */
const CACHE_SIZE = 1000;

/**
 * Checks bearer tokens against the store. Every check reads the token's row (one lookup by id), so
 * that a revocation — by this process or any other sharing the store — applies to the very next
 * request. The scrypt hash is computed once per token and process: after that a SHA-256 of the
 * token, kept beside the row's hash it was verified against, is compared in constant time.
 */
export class TokenVerifier {
  private readonly verified = new Map<string, { storedHash: string; digest: Buffer }>();
  private required = false;

  constructor(private readonly store: Store) {}

  /** Who `token` stands for; undefined when it is malformed, unknown, revoked or wrong. */
  async verify(token: string): Promise<Principal | undefined> {
    const id = tokenId(token);
    if (id === undefined) return undefined;
    const row = await this.store.getToken(id);
    if (!row || row.revokedAt !== null) {
      this.verified.delete(id);
      return undefined;
    }
    const digest = sha256(token);
    const known = this.verified.get(id);
    let ok = known !== undefined && known.storedHash === row.hash && timingSafeEqual(known.digest, digest);
    if (!ok) {
      ok = await verifyTokenHash(token, row.hash);
      if (ok) this.remember(id, row.hash, digest);
    }
    return ok ? { tokenId: row.id, name: row.name, role: row.role, project: row.project } : undefined;
  }

  /**
   * True once the store holds any token (revoked ones count: revoking every token must not open
   * the server). Until then a server on loopback answers without one.
   */
  async authRequired(): Promise<boolean> {
    if (!this.required) this.required = (await this.store.listTokens()).length > 0;
    return this.required;
  }

  private remember(id: string, storedHash: string, digest: Buffer): void {
    this.verified.delete(id);
    if (this.verified.size >= CACHE_SIZE) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(id, { storedHash, digest });
  }
}

/**
 * Whether `principal` may do what needs `permission` on `project` (undefined: a call about no one
 * project). A token of one project reaches that project only.
 */
export function allows(principal: Principal, permission: Permission, project: string | undefined): boolean {
  if (!roleAllows(principal.role, permission)) return false;
  return principal.project === null || project === principal.project;
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** The token of an `Authorization: Bearer <token>` header, else undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
}

/** Why a request is refused: 401 without a valid token, 403 when its role or project does not reach. */
export interface Refusal {
  status: 401 | 403;
  error: 'unauthorized' | 'forbidden';
  message: string;
}

/**
 * The check of a serving function that requires a token: an `Authorization: Bearer` token of its
 * project (or of no project) whose role may invoke.
 */
export function invokeAuthorizer(store: Store, project: string, functionName: string): (authorization: string | undefined) => Promise<Refusal | undefined> {
  const verifier = new TokenVerifier(store);
  return async (authorization) => {
    const token = bearerToken(authorization);
    const p = token === undefined ? undefined : await verifier.verify(token);
    if (!p) {
      const why = token === undefined ? 'needs Authorization: Bearer <token>' : 'was sent a token that is not valid (unknown, revoked or mistyped)';
      return { status: 401, error: 'unauthorized', message: `serving function '${functionName}' ${why}; tokens come from \`modelwatch tokens create --role invoker --project ${project}\`` };
    }
    if (allows(p, 'invoke', project)) return undefined;
    const reach = p.project !== null && p.project !== project ? `reaches project '${p.project}' only` : `has role ${p.role}, which may not invoke (invoker, editor or admin may)`;
    return { status: 403, error: 'forbidden', message: `the token '${p.name}' ${reach}` };
  };
}
