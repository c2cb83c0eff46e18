import type { FastifyInstance } from 'fastify';
import type { FetchLike } from '../project/client.ts';

/**
 * A `fetch` that answers from the app in this process (Fastify's `inject`), so that the
 * CLI talks to a home folder through exactly the code a remote server runs — same
 * validation, same errors — without opening a port.
 */
export function injectFetch(app: FastifyInstance): FetchLike {
  return async (url, init) => {
    const u = new URL(url);
    const res = await app.inject({
      method: init.method as 'GET',
      url: u.pathname + u.search,
      headers: init.headers,
      ...(init.body !== undefined ? { payload: init.body } : {}),
    });
    return { status: res.statusCode, ok: res.statusCode >= 200 && res.statusCode < 300, text: async () => res.payload };
  };
}
