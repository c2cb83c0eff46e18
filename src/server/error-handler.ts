import type { FastifyError, FastifyInstance } from 'fastify';
import { InvokeError, ModelwatchError, NotFoundError, NotRunningError } from '../common/errors.ts';

/** The JSON body of every error answer. */
export interface ErrorBody {
  error: string;
  message: string;
  details?: Record<string, unknown>;
}

/**
 * Maps errors to `{ error, message, details }` bodies, from which the client rebuilds the same
 * error class (`reviveError`): platform errors keep their code, status and details,
 * Fastify's own 4xx errors (schema validation, bad JSON, body too large) keep their status,
 * anything else is a 500 whose cause is logged.
 */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | ModelwatchError | Error, req, reply) => {
    if (err instanceof ModelwatchError) {
      // An invoke's status is what the serving function answered, and a function not running is
      // its state: neither is a failure of this server.
      if (err.httpStatus >= 500 && !(err instanceof InvokeError || err instanceof NotRunningError)) req.log.error({ err: { code: err.code, message: err.message } }, 'request failed');
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
    const route = `${req.method} ${req.url.split('?')[0] ?? ''}`;
    reply.status(404).send(new NotFoundError('route', route, `no route ${route}`).toJSON());
  });
}

function codeFor(status: number): string {
  if (status === 401) return 'unauthorized';
  if (status === 404) return 'not_found';
  if (status === 413) return 'payload_too_large';
  if (status === 415) return 'unsupported_media_type';
  return 'bad_request';
}
