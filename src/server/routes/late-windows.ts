import type { FastifyInstance } from 'fastify';
import type { ReanalyzeOptions } from '../../pipeline/controller/reanalyze.ts';
import type { Platform } from '../../project/platform.ts';
import type { LateWindowQuery } from '../../store/port.ts';
import { openProject } from '../admin.ts';
import { parseTimeParam } from '../query.ts';

/** Query string of `GET /projects/:project/late-windows`. */
const lateWindowsQuerystring = {
  type: 'object',
  additionalProperties: false,
  properties: {
    endpoint: { type: 'string', minLength: 1, maxLength: 128 },
    pending: { type: 'string', enum: ['true', 'false'] },
    limit: { type: 'string', pattern: '^[1-9][0-9]{0,8}$' },
  },
} as const;

/** Body of `POST /projects/:project/reanalyze`: the late windows, or one window. */
const reanalyzeBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    late: { type: 'boolean' },
    endpointId: { type: 'string', minLength: 1, maxLength: 128 },
    /** Epoch milliseconds, or ISO-8601 (read by `parseTimeParam`). */
    windowStart: { anyOf: [{ type: 'integer' }, { type: 'string', minLength: 1, maxLength: 64 }] },
    app: { type: 'string', minLength: 1, maxLength: 64 },
  },
} as const;

interface ReanalyzeBody {
  late?: boolean;
  endpointId?: string;
  windowStart?: number | string;
  app?: string;
}

/** Windows that got predictions after they were analyzed, and their reanalysis (see `Project.listLateWindows`, `Project.reanalyzeWindows`). */
export function registerLateWindowRoutes(app: FastifyInstance, platform: Platform): void {
  app.get<{ Params: { project: string }; Querystring: { endpoint?: string; pending?: 'true' | 'false'; limit?: string } }>(
    '/projects/:project/late-windows',
    { schema: { querystring: lateWindowsQuerystring } },
    async (req) => {
      const q: LateWindowQuery = {};
      if (req.query.endpoint !== undefined) q.endpointId = req.query.endpoint;
      if (req.query.pending === 'true') q.pending = true;
      if (req.query.limit !== undefined) q.limit = Number(req.query.limit);
      return (await openProject(platform, req.params.project)).listLateWindows(q);
    },
  );

  app.post<{ Params: { project: string }; Body: ReanalyzeBody }>('/projects/:project/reanalyze', { schema: { body: reanalyzeBody } }, async (req) => {
    const b = req.body ?? {};
    const opts: ReanalyzeOptions = {};
    if (b.late !== undefined) opts.late = b.late;
    if (b.endpointId !== undefined) opts.endpointId = b.endpointId;
    if (b.app !== undefined) opts.app = b.app;
    const start = typeof b.windowStart === 'number' ? b.windowStart : parseTimeParam('windowStart', b.windowStart);
    if (start !== undefined) opts.windowStart = start;
    return (await openProject(platform, req.params.project)).reanalyzeWindows(opts);
  });
}
