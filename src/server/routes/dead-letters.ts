import type { FastifyInstance } from 'fastify';
import type { Platform } from '../../project/platform.ts';
import type { DeadLetterQuery } from '../../store/tsdb-port.ts';
import { openProject } from '../admin.ts';
import { parseTimeParam } from '../query.ts';

/** Query string of `GET /projects/:project/dead-letters`. */
const deadLettersQuerystring = {
  type: 'object',
  additionalProperties: false,
  properties: {
    /** An endpoint id as dead letters store it: any text of up to 128 characters but NUL (which no backend stores). */
    endpoint: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[^\\u0000]+$' },
    /** Epoch milliseconds or ISO-8601, read by `parseTimeParam`. */
    since: { type: 'string', maxLength: 64 },
    limit: { type: 'string', pattern: '^[1-9][0-9]{0,8}$' },
  },
} as const;

/** The events the stream processor did not store (see `Project.listDeadLetters`). */
export function registerDeadLetterRoutes(app: FastifyInstance, platform: Platform): void {
  app.get<{ Params: { project: string }; Querystring: { endpoint?: string; since?: string; limit?: string } }>(
    '/projects/:project/dead-letters',
    { schema: { querystring: deadLettersQuerystring } },
    async (req) => {
      const q: DeadLetterQuery = {};
      if (req.query.endpoint !== undefined) q.endpointId = req.query.endpoint;
      const since = parseTimeParam('since', req.query.since);
      if (since !== undefined) q.since = since;
      if (req.query.limit !== undefined) q.limit = Number(req.query.limit);
      return (await openProject(platform, req.params.project)).listDeadLetters(q);
    },
  );
}
