import type { FastifyInstance } from 'fastify';
import { redactSecrets } from '../../common/redact.ts';
import type { Platform } from '../../project/platform.ts';
import type { CredentialsView, DisableMonitoringOptions, EnableMonitoringOptions } from '../../project/project.ts';
import type { Credentials } from '../../store/port.ts';
import { openProject } from '../admin.ts';
import { checkFileUrl } from '../code-paths.ts';
import { controllerBody, credentialsBody, disableMonitoringBody, enableMonitoringBody } from '../schemas.ts';

type ProjectParams = { project: string };

/** Monitoring on/off, the controller's base period, and the project's credentials. */
export function registerMonitoringRoutes(app: FastifyInstance, platform: Platform): void {
  app.post<{ Params: ProjectParams; Body: EnableMonitoringOptions | undefined }>(
    '/projects/:project/monitoring/enable',
    { schema: { body: enableMonitoringBody } },
    async (req) => (await openProject(platform, req.params.project)).enableModelMonitoring(req.body ?? {}),
  );

  app.post<{ Params: ProjectParams; Body: DisableMonitoringOptions | undefined }>(
    '/projects/:project/monitoring/disable',
    { schema: { body: disableMonitoringBody } },
    async (req, reply) => {
      await (await openProject(platform, req.params.project)).disableModelMonitoring(req.body ?? {});
      return reply.status(204).send();
    },
  );

  app.post<{ Params: ProjectParams; Body: { basePeriod: number } }>('/projects/:project/monitoring/controller', { schema: { body: controllerBody } }, async (req) => {
    const project = await openProject(platform, req.params.project);
    await project.updateModelMonitoringController({ basePeriod: req.body.basePeriod });
    return (await project.record()).monitoring;
  });

  app.get<{ Params: ProjectParams }>('/projects/:project/credentials', async (req) =>
    redactView(await (await openProject(platform, req.params.project)).getModelMonitoringCredentials()),
  );

  app.put<{ Params: ProjectParams; Body: Credentials & { replace?: boolean } }>('/projects/:project/credentials', { schema: { body: credentialsBody } }, async (req) => {
    const project = await openProject(platform, req.params.project);
    for (const [k, role] of [['endpointStoreConnection', 'store'], ['tsdbConnection', 'tsdb'], ['streamPath', 'stream']] as const) {
      const url = req.body?.[k];
      if (url !== undefined) await checkFileUrl(platform, url, role, k);
    }
    const { notAvailable, ...view } = await project.setModelMonitoringCredentials(req.body ?? {});
    return { ...redactView(view), notAvailable };
  });
}

/** Hides passwords and secret-looking query parameters on top of what the project already hides. */
function redactView(v: CredentialsView): CredentialsView {
  const out: CredentialsView = {};
  for (const k of ['endpointStoreConnection', 'tsdbConnection', 'streamPath'] as const) {
    const s = v[k];
    if (s) out[k] = redactSecrets(s);
  }
  return out;
}
