import type { FastifyInstance } from 'fastify';
import { isJsonContentType, mediaType } from '../common/media-type.ts';

/** Methods that change nothing; every other method needs the proof below. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuses state-changing requests that a page on another site could make a browser send.
 * Without a CORS preflight a browser sends only `text/plain`, `application/x-www-form-urlencoded`
 * and `multipart/form-data` bodies, and no `Authorization: Bearer` header (it attaches only Basic
 * credentials it remembers). So every POST, PUT, DELETE and PATCH needs `Content-Type:
 * application/json` — a body in any other type is refused whoever sends it — and a request without
 * a body may instead carry a bearer token. The server sends no CORS headers, so the preflight a
 * browser makes for a JSON request from another site fails and the request is never sent.
 * Refused requests get 415 before their body is read or any handler runs.
 */
export function installCrossSiteChecks(app: FastifyInstance): void {
  app.addHook('onRequest', async (req, reply) => {
    if (SAFE_METHODS.has(req.method)) return;
    const type = req.headers['content-type'];
    if (isJsonContentType(type)) return;
    const h = req.headers;
    const hasBody = h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');
    if (type === undefined && !hasBody && /^Bearer\s+\S/i.test(h.authorization ?? '')) return;
    const given = mediaType(type);
    return reply.status(415).send({
      error: 'unsupported_media_type',
      message:
        `${req.method} requests need Content-Type: application/json${given ? `, not ${given}` : ''} ` +
        '(a request without a body may carry Authorization: Bearer instead): browsers send other types from any web page',
    });
  });
}
