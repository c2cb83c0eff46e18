import type { FastifyError, FastifyInstance } from 'fastify';
import { ModelwatchError } from '../common/errors.ts';
import { InvokeError } from '../project/project.ts';

/** The JSON body of every error answer. */
export interface ErrorBody {
  error: string;
  message: string;
  details?: Record<string, unknown>;
}

/**
 * Maps errors to `{ error, message }` bodies: platform errors keep their code and status,
 * Fastify's own 4xx errors (schema validation, bad JSON, body too large) keep their status,
 * anything else is a 500 whose cause is logged.
 */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | ModelwatchError | Error, req, reply) => {
    if (err instanceof InvokeError) {
      // The serving function answered; pass its status and body through so callers see what the model said.
      return reply.status(err.status >= 400 && err.status < 600 ? err.status : 502).send({ error: 'invoke_failed', message: err.message, details: { status: err.status, body: err.body } });
    }
    if (err instanceof ModelwatchError) {
      if (err.httpStatus >= 500) req.log.error({ err: { code: err.code, message: err.message } }, 'request failed');
      return reply.status(err.httpStatus).send(err.toJSON());
    }
    const fe = err as FastifyError;
    if (fe.validation) {
      return reply.status(400).send({ error: 'validation_error', message: fe.message });
    }
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      return reply.status(fe.statusCode).send({ error: codeFor(fe.statusCode), message: fe.message });
    }
    req.log.error({ err: { message: err.message, stack: err.stack } }, 'unhandled error');
    return reply.status(500).send({ error: 'internal_error', message: err.message });
  });
  app.setNotFoundHandler((req, reply) => {
    reply.status(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0] ?? ''}` });
  });
}

function codeFor(status: number): string {
  if (status === 401) return 'unauthorized';
  if (status === 404) return 'not_found';
  if (status === 413) return 'payload_too_large';
  if (status === 415) return 'unsupported_media_type';
  return 'bad_request';
}
