import type { FastifyInstance } from 'fastify';

/**
 * `curl -X POST -H 'Content-Type: application/json' .../deploy` sends no body (the content type
 * is required, see cross-site.ts), and many clients send an empty one. Both mean "no options":
 * the body becomes `{}` before validation, so routes whose options are all optional accept them
 * and routes that need fields still say which.
 */
export function installEmptyBodyAsObject(app: FastifyInstance): void {
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    void json(req, text, done);
  });
  app.addHook('preValidation', async (req) => {
    if ((req.method === 'POST' || req.method === 'PUT') && (req.body === undefined || req.body === null)) req.body = {};
  });
}
