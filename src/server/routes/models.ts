import fs from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ValidationError } from '../../common/errors.ts';
import { safeFileName } from '../../common/safe-path.ts';
import type { TabularInput } from '../../data/tabular.ts';
import type { Platform } from '../../project/platform.ts';
import type { LogModelOptions } from '../../project/project.ts';
import { openProject } from '../admin.ts';
import { logModelBody, modelQuerystring } from '../schemas.ts';

/** What `POST /models/:key` takes: `logModel` options, with a model file sent inline. */
export interface LogModelBody extends Omit<LogModelOptions, 'modelFile' | 'trainingSet'> {
  /** Rows (objects or arrays), columns (`{ name: values[] }`), `{ csv }` or `{ jsonl }` text. */
  trainingSet: unknown;
  modelFile?: { name: string; base64: string };
}

/** Folder of the artifact path where uploads wait while a model is logged (no project can be named so). */
const UPLOADS_FOLDER = '.uploads';

/** Logged models: list, get, log (a model file and its training set in one body of at most `maxUploadBytes`). */
export function registerModelRoutes(app: FastifyInstance, platform: Platform, opts: { maxUploadBytes: number }): void {
  app.get<{ Params: { project: string } }>('/projects/:project/models', async (req) => {
    await openProject(platform, req.params.project);
    return platform.store.listModels(req.params.project);
  });

  app.get<{ Params: { project: string; key: string }; Querystring: { tag?: string } }>(
    '/projects/:project/models/:key',
    { schema: { querystring: modelQuerystring } },
    async (req) => (await openProject(platform, req.params.project)).getModel(req.params.key, req.query.tag ?? 'latest'),
  );

  app.post<{ Params: { project: string; key: string }; Body: LogModelBody }>(
    '/projects/:project/models/:key',
    { schema: { body: logModelBody }, bodyLimit: opts.maxUploadBytes },
    async (req, reply) => {
      const project = await openProject(platform, req.params.project);
      const { modelFile, trainingSet, ...rest } = req.body;
      const opts: LogModelOptions = { ...rest, trainingSet: checkTrainingSet(trainingSet) };
      let tmp: string | undefined;
      try {
        if (modelFile) {
          // logModel copies a file by path; an uploaded file lands in a private folder first, in the
          // artifact path: uploads are data, and no code root ever covers that path.
          const uploads = path.join(platform.options.artifactPath, UPLOADS_FOLDER);
          await fs.mkdir(uploads, { recursive: true });
          tmp = await fs.mkdtemp(path.join(uploads, 'upload-'));
          const file = path.join(tmp, safeFileName(modelFile.name, 'model'));
          await fs.writeFile(file, Buffer.from(modelFile.base64, 'base64'));
          opts.modelFile = file;
        }
        return reply.status(201).send(await project.logModel(req.params.key, opts));
      } finally {
        if (tmp) await fs.rm(tmp, { recursive: true, force: true });
      }
    },
  );
}

/** Over the API a training set travels as data; `{ path }` would read files on the server. */
function checkTrainingSet(t: unknown): TabularInput {
  if (Array.isArray(t)) return t as TabularInput;
  if (t && typeof t === 'object') {
    const o = t as Record<string, unknown>;
    if ('path' in o) throw new ValidationError('trainingSet { path } is not accepted over the API; send rows, columns, { csv } or { jsonl }');
    if ('csv' in o && typeof o.csv !== 'string') throw new ValidationError('trainingSet.csv must be CSV text');
    if ('jsonl' in o && typeof o.jsonl !== 'string') throw new ValidationError('trainingSet.jsonl must be JSON lines text');
    return o as TabularInput;
  }
  throw new ValidationError('trainingSet must be rows, columns, { csv } or { jsonl }');
}
