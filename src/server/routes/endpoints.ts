import type { FastifyInstance } from 'fastify';
import type { Platform } from '../../project/platform.ts';
import { openProject } from '../admin.ts';
import { parseTimeParam, seriesQuery, type SeriesQueryString } from '../query.ts';
import { endpointsQuerystring, eventsQuerystring, latestQuerystring, seriesQuerystring } from '../schemas.ts';

type ProjectParams = { project: string };
type EndpointParams = { project: string; id: string };

/** Model endpoints, their results and metrics over time, and monitoring events. */
export function registerEndpointRoutes(app: FastifyInstance, platform: Platform): void {
  app.get<{ Params: ProjectParams; Querystring: { full?: 'true' | 'false' } }>('/projects/:project/endpoints', { schema: { querystring: endpointsQuerystring } }, async (req) =>
    (await openProject(platform, req.params.project)).listModelEndpoints({ full: req.query.full === 'true' }),
  );

  app.get<{ Params: EndpointParams }>('/projects/:project/endpoints/:id', async (req) =>
    (await openProject(platform, req.params.project)).getModelEndpoint(req.params.id),
  );

  const series = { schema: { querystring: seriesQuerystring } };

  app.get<{ Params: EndpointParams; Querystring: SeriesQueryString }>('/projects/:project/endpoints/:id/results', series, async (req) => {
    const project = await openProject(platform, req.params.project);
    await project.getModelEndpoint(req.params.id);
    return project.listResults(seriesQuery(req.query, req.params.id));
  });

  app.get<{ Params: EndpointParams; Querystring: SeriesQueryString }>('/projects/:project/endpoints/:id/metrics', series, async (req) => {
    const project = await openProject(platform, req.params.project);
    await project.getModelEndpoint(req.params.id);
    return project.listMetrics(seriesQuery(req.query, req.params.id));
  });

  app.get<{ Params: ProjectParams; Querystring: SeriesQueryString }>('/projects/:project/results', series, async (req) =>
    (await openProject(platform, req.params.project)).listResults(seriesQuery(req.query)),
  );

  app.get<{ Params: ProjectParams; Querystring: SeriesQueryString }>('/projects/:project/metrics', series, async (req) =>
    (await openProject(platform, req.params.project)).listMetrics(seriesQuery(req.query)),
  );

  app.get<{ Params: ProjectParams; Querystring: { endpoint?: string; app?: string } }>(
    '/projects/:project/results/latest',
    { schema: { querystring: latestQuerystring } },
    async (req) => {
      const q: { endpointId?: string; app?: string } = {};
      if (req.query.endpoint) q.endpointId = req.query.endpoint;
      if (req.query.app) q.app = req.query.app;
      return (await openProject(platform, req.params.project)).latestResults(q);
    },
  );

  app.get<{ Params: ProjectParams; Querystring: { endpoint?: string; kind?: string; since?: string; limit?: string } }>(
    '/projects/:project/events',
    { schema: { querystring: eventsQuerystring } },
    async (req) => {
      const q: { endpointId?: string; kind?: string; since?: number; limit?: number } = {};
      if (req.query.endpoint) q.endpointId = req.query.endpoint;
      if (req.query.kind) q.kind = req.query.kind;
      const since = parseTimeParam('since', req.query.since);
      if (since !== undefined) q.since = since;
      if (req.query.limit !== undefined) q.limit = Number(req.query.limit);
      return (await openProject(platform, req.params.project)).listEvents(q);
    },
  );
}
