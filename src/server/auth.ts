import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ROLE_PERMISSIONS, ROLES, type Permission, type Principal } from '../auth/tokens.ts';
import { allows, bearerToken, type TokenVerifier } from '../auth/verifier.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified token of the request; null when the server runs without authentication (loopback, no token in its store). */
    principal: Principal | null;
  }
}

/** What a route needs. */
export type RouteAccess =
  | 'public'
  | {
      need: Permission;
      /**
       * `project`: the route's `:project`, which a project's token must match; `any`: the handler
       * limits a project's token to its project; `unscoped`: a project's token may not.
       */
      scope: 'project' | 'any' | 'unscoped';
    };

const read = { need: 'read', scope: 'project' } as const;
const write = { need: 'write', scope: 'project' } as const;
const admin = { need: 'admin', scope: 'project' } as const;

/**
 * Every REST route, by method and path pattern, and what it needs. A route missing here needs an
 * admin token of no project (and `test/server/auth.test.ts`, which checks every registered route,
 * fails): a new route is never left open.
 */
export const ROUTE_ACCESS: Readonly<Record<string, RouteAccess>> = {
  'GET /api/v1/health': 'public',

  'GET /api/v1/projects': { need: 'read', scope: 'any' },
  'POST /api/v1/projects': { need: 'write', scope: 'unscoped' },
  'GET /api/v1/projects/:project': read,
  'DELETE /api/v1/projects/:project': admin,

  'POST /api/v1/projects/:project/monitoring/enable': write,
  'POST /api/v1/projects/:project/monitoring/disable': write,
  'POST /api/v1/projects/:project/monitoring/controller': write,
  'GET /api/v1/projects/:project/credentials': admin,
  'PUT /api/v1/projects/:project/credentials': admin,

  'GET /api/v1/projects/:project/functions': read,
  'GET /api/v1/projects/:project/functions/:name': read,
  'PUT /api/v1/projects/:project/functions/:name': write,
  'DELETE /api/v1/projects/:project/functions/:name': write,
  'POST /api/v1/projects/:project/functions/:name/deploy': write,
  'POST /api/v1/projects/:project/functions/:name/undeploy': write,
  'POST /api/v1/projects/:project/functions/:name/invoke': { need: 'invoke', scope: 'project' },

  'GET /api/v1/projects/:project/models': read,
  'GET /api/v1/projects/:project/models/:key': read,
  'POST /api/v1/projects/:project/models/:key': write,

  'GET /api/v1/projects/:project/endpoints': read,
  'GET /api/v1/projects/:project/endpoints/:id': read,
  'GET /api/v1/projects/:project/endpoints/:id/results': read,
  'GET /api/v1/projects/:project/endpoints/:id/metrics': read,
  'GET /api/v1/projects/:project/results': read,
  'GET /api/v1/projects/:project/metrics': read,
  'GET /api/v1/projects/:project/results/latest': read,
  'GET /api/v1/projects/:project/events': read,
  'GET /api/v1/projects/:project/dead-letters': read,
  'GET /api/v1/projects/:project/late-windows': read,
  'POST /api/v1/projects/:project/reanalyze': write,

  'GET /api/v1/tokens': { need: 'admin', scope: 'any' },
  'POST /api/v1/tokens': { need: 'admin', scope: 'any' },
  'DELETE /api/v1/tokens/:id': { need: 'admin', scope: 'any' },
};

/** What a route not in {@link ROUTE_ACCESS} needs. */
const UNLISTED: RouteAccess = { need: 'admin', scope: 'unscoped' };

/** The rule of a request's route; undefined when no route matched (a 404 follows for a valid token). */
export function routeAccess(method: string, url: string | undefined): RouteAccess | undefined {
  if (url === undefined) return undefined;
  // Fastify answers HEAD on every GET route.
  return ROUTE_ACCESS[`${method === 'HEAD' ? 'GET' : method} ${url}`] ?? UNLISTED;
}

/**
 * Requires `Authorization: Bearer <token>` — a token of the store (see `modelwatch tokens`) — on
 * every route but the public ones, once the store holds any token, and checks the route's
 * {@link ROUTE_ACCESS}: 401 without a valid token, 403 when its role or project does not reach.
 */
export function installTokenAuth(app: FastifyInstance, verifier: TokenVerifier): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (req, reply) => {
    const access = routeAccess(req.method, req.routeOptions.url);
    if (access === 'public' || !(await verifier.authRequired())) return;
    const token = bearerToken(req.headers.authorization);
    const principal = token === undefined ? undefined : await verifier.verify(token);
    if (!principal) {
      reply.header('www-authenticate', 'Bearer');
      return reply.status(401).send({
        error: 'unauthorized',
        message: token !== undefined ? 'the bearer token is not valid (unknown, revoked or mistyped)' : 'this server needs Authorization: Bearer <token> (a token from `modelwatch tokens create`)',
      });
    }
    req.principal = principal;
    if (access === undefined) return;
    const refused = refusal(req, principal, access);
    if (refused) return reply.status(403).send({ error: 'forbidden', message: refused });
  });
}

function refusal(req: FastifyRequest, p: Principal, access: Exclude<RouteAccess, 'public'>): string | undefined {
  const who = `the token '${p.name}' (${p.role}${p.project === null ? '' : ` of project '${p.project}'`})`;
  const route = `${req.method} ${req.routeOptions.url ?? ''}`;
  if (p.project !== null && access.scope === 'unscoped') return `${who} reaches its project only; ${route} needs a token of no project`;
  const project = access.scope === 'project' ? (req.params as { project?: string }).project : (p.project ?? undefined);
  if (allows(p, access.need, project)) return undefined;
  if (access.scope === 'project' && p.project !== null && project !== p.project) return `${who} does not reach project '${project ?? ''}'`;
  const roles = ROLES.filter((r) => (ROLE_PERMISSIONS[r] as readonly Permission[]).includes(access.need));
  return `${who} may not do this: ${route} needs the ${access.need} permission (${roles.join(' or ')})`;
}
