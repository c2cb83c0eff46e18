import type { FastifyInstance } from 'fastify';
import { bearerToken } from '../../auth/verifier.ts';
import { ValidationError } from '../../common/errors.ts';
import { BODY_LIMITS } from '../../common/limits.ts';
import type { DeployOptions } from '../../project/deploy-state.ts';
import type { Platform } from '../../project/platform.ts';
import type { ServingSpec } from '../../project/serving-worker.ts';
import type { FunctionKind, FunctionRecord } from '../../store/port.ts';
import { openProject, removeFunction, saveServingFunction, undeployFunction } from '../admin.ts';
import { checkApplicationPaths } from '../code-paths.ts';
import { deployBody, functionsQuerystring, invokeBody, putFunctionBody } from '../schemas.ts';

type FnParams = { project: string; name: string };

/** What `PUT /functions/:name` takes. */
export interface PutFunctionBody {
  kind: 'serving' | 'monitoring-application';
  name?: string;
  spec?: Partial<ServingSpec>;
  application?: string;
  className?: string;
  handler?: string;
  options?: Record<string, unknown>;
  labels?: Record<string, string>;
}

/** Functions: list, get, register (PUT), remove, deploy, undeploy, invoke. */
export function registerFunctionRoutes(app: FastifyInstance, platform: Platform): void {
  app.get<{ Params: { project: string }; Querystring: { kind?: FunctionKind } }>(
    '/projects/:project/functions',
    { schema: { querystring: functionsQuerystring } },
    async (req) => {
      const all = await (await openProject(platform, req.params.project)).listFunctions();
      return req.query.kind ? all.filter((f) => f.kind === req.query.kind) : all;
    },
  );

  app.get<{ Params: FnParams }>('/projects/:project/functions/:name', async (req) =>
    (await openProject(platform, req.params.project)).getFunction(req.params.name),
  );

  app.put<{ Params: FnParams; Body: PutFunctionBody }>('/projects/:project/functions/:name', { schema: { body: putFunctionBody } }, async (req) => {
    const { project: projectName, name } = req.params;
    const b = req.body;
    if (b.name !== undefined && b.name !== name) throw new ValidationError(`the body names function '${b.name}' but the path names '${name}'`);
    const project = await openProject(platform, projectName);
    if (b.kind === 'serving') {
      if (b.application !== undefined || b.className !== undefined || b.handler !== undefined || b.options !== undefined) {
        throw new ValidationError('a serving function takes spec (models, tracking), not application/className/options');
      }
      return saveServingFunction(platform, projectName, name, b.spec ?? {}, b.labels ?? {});
    }
    if (b.spec !== undefined) throw new ValidationError('a monitoring application takes application, className and options, not spec');
    if (!b.application) throw new ValidationError('a monitoring application needs application: the module file exporting its class, or a built-in app name (data-drift-report)');
    const opts = {
      name,
      application: b.application,
      ...(b.className ?? b.handler ? { className: (b.className ?? b.handler)! } : {}),
      options: b.options ?? {},
      labels: b.labels ?? {},
    };
    // The SDK's own checks first (worded as in embedded mode), then where its files lie.
    project.createModelMonitoringFunction(opts);
    await checkApplicationPaths(platform, b.application, b.options);
    await project.setModelMonitoringFunction(opts);
    return project.getFunction(name);
  });

  app.delete<{ Params: FnParams }>('/projects/:project/functions/:name', async (req, reply) => {
    await removeFunction(platform, await openProject(platform, req.params.project), req.params.name);
    return reply.status(204).send();
  });

  // Answers once the worker runs (or with its own error); see DeployOptions.
  app.post<{ Params: FnParams; Body: DeployOptions | undefined }>('/projects/:project/functions/:name/deploy', { schema: { body: deployBody } }, async (req): Promise<FunctionRecord> =>
    (await openProject(platform, req.params.project)).deployFunction(req.params.name, req.body ?? {}),
  );

  app.post<{ Params: FnParams }>('/projects/:project/functions/:name/undeploy', async (req) => {
    await openProject(platform, req.params.project);
    return undeployFunction(platform, req.params.project, req.params.name);
  });

  app.post<{ Params: FnParams; Body: { path: string; body?: unknown } }>('/projects/:project/functions/:name/invoke', { schema: { body: invokeBody }, bodyLimit: BODY_LIMITS.inferBytes }, async (req, reply) => {
    const project = await openProject(platform, req.params.project);
    // The caller's token goes on to a function that requires one.
    const token = bearerToken(req.headers.authorization);
    const out = await project.invoke(req.params.name, req.body.path, req.body.body, token ? { token } : {});
    return reply.status(200).send(out ?? null);
  });
}
