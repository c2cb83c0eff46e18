import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

/** Paths that answer without a token (load balancers and `up` probe them). */
const OPEN_PATHS = new Set(['/api/v1/health']);

/**
 * Requires `Authorization: Bearer <token>` on every route but health. Tokens are compared as
 * hashes in constant time so that response timing does not leak a prefix.
 */
export function installBearerAuth(app: FastifyInstance, token: string): void {
  const expected = digest(token);
  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    if (OPEN_PATHS.has(path)) return;
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(header);
    if (m && timingSafeEqual(digest(m[1]!.trim()), expected)) return;
    reply.header('www-authenticate', 'Bearer');
    return reply.status(401).send({ error: 'unauthorized', message: m ? 'the bearer token is not valid' : 'this server needs Authorization: Bearer <token>' });
  });
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
