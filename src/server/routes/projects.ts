import type { FastifyInstance } from 'fastify';
import type { Platform } from '../../project/platform.ts';
import { createProject, deleteProject, openProject } from '../admin.ts';
import { createProjectBody } from '../schemas.ts';

type ProjectParams = { Params: { project: string } };

/** `GET/POST /projects`, `GET/DELETE /projects/:project`. */
export function registerProjectRoutes(app: FastifyInstance, platform: Platform): void {
  // A project's token sees that project only.
  app.get('/projects', async (req) => (await platform.store.listProjects()).filter((p) => !req.principal?.project || p.name === req.principal.project));

  app.post<{ Body: { name: string; description?: string; labels?: Record<string, string> } }>('/projects', { schema: { body: createProjectBody } }, async (req, reply) => {
    const rec = await createProject(platform, req.body);
    return reply.status(201).send(rec);
  });

  app.get<ProjectParams>('/projects/:project', async (req) => (await openProject(platform, req.params.project)).record());

  app.delete<ProjectParams>('/projects/:project', async (req, reply) => {
    await deleteProject(platform, req.params.project);
    return reply.status(204).send();
  });
}
