import type { FastifyInstance } from 'fastify';
import { issueToken, type CreatedToken, type Role, type TokenRecord, type TokenView } from '../../auth/tokens.ts';
import { ModelwatchError, NotFoundError } from '../../common/errors.ts';
import type { Platform } from '../../project/platform.ts';
import { createTokenBody } from '../schemas.ts';

/**
 * API tokens: list, create (the answer holds the token, shown once), revoke. An admin token of a
 * project manages that project's tokens only.
 */
export function registerTokenRoutes(app: FastifyInstance, platform: Platform): void {
  app.get('/tokens', async (req): Promise<TokenView[]> => {
    const scope = req.principal?.project ?? undefined;
    return (await platform.store.listTokens(scope === undefined ? {} : { project: scope })).map(view);
  });

  app.post<{ Body: { name: string; role: Role; project?: string } }>('/tokens', { schema: { body: createTokenBody } }, async (req, reply) => {
    const { name, role } = req.body;
    const scope = req.principal?.project ?? null;
    const project = req.body.project ?? scope;
    if (scope !== null && project !== scope) throw forbidden(`a token of project '${scope}' creates tokens of that project only`);
    if (project !== null && !(await platform.store.getProject(project))) throw new NotFoundError('project', project);
    const { record, token } = await issueToken(platform.store, { name, role, project, now: platform.clock.now() });
    platform.logger.info({ tokenId: record.id, name, role, project, by: req.principal?.name ?? '(local)' }, 'API token created');
    return reply.status(201).send({ ...view(record), token } satisfies CreatedToken);
  });

  app.delete<{ Params: { id: string } }>('/tokens/:id', async (req): Promise<TokenView> => {
    const t = await platform.store.getToken(req.params.id);
    const scope = req.principal?.project ?? null;
    // Another project's token is as good as absent to a project's admin.
    if (!t || (scope !== null && t.project !== scope)) throw new NotFoundError('token', req.params.id);
    await platform.store.revokeToken(t.id, platform.clock.now());
    platform.logger.info({ tokenId: t.id, name: t.name, by: req.principal?.name ?? '(local)' }, 'API token revoked');
    return view((await platform.store.getToken(t.id)) ?? t);
  });
}

function view(t: TokenRecord): TokenView {
  const { hash: _hash, ...rest } = t;
  return rest;
}

function forbidden(message: string): ModelwatchError {
  return new ModelwatchError('forbidden', message, { httpStatus: 403 });
}
