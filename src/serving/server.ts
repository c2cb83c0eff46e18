import { createRequire } from 'node:module';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { systemClock, type Clock } from '../common/clock.ts';
import { closeGracefully, installGracefulClose, timeoutOptions, type CloseReport } from '../common/http-server.ts';
import { BODY_LIMITS, LIMITS, SERVING_TIMEOUTS, SHUTDOWN_DEADLINE_MS, type HttpTimeouts, type InputLimits } from '../common/limits.ts';
import { ModelwatchError, ValidationError } from '../common/errors.ts';
import { isJsonContentType } from '../common/media-type.ts';
import { startRequest, type RequestStart } from '../tracking/event.ts';
import type { TrackerSink } from '../tracking/tracker.ts';
import { endpointError, runInference, type RequestErrorInfo } from './infer.ts';
import { featureType, metadataDatatype } from './input-schema.ts';
import { ModelRegistry, type ModelCounters, type ModelEntry, type ServedModel } from './served-models.ts';

export type { ServedModel } from './served-models.ts';
export type { RequestErrorInfo } from './infer.ts';

/** Options of {@link createServingServer}. */
export interface ServingServerOptions {
  project: string;
  functionName: string;
  models: ServedModel[];
  /** Receives one event per request (errors included). The server does not close it. */
  tracker?: TrackerSink;
  /**
   * Answer a prediction only once its event is in the stream (the tracker's `trackRequestDurable`);
   * one that cannot be stored is answered 503 `tracking_unavailable`. @default false
   */
  durableTracking?: boolean;
  /** Source of each event's `when`. @default systemClock */
  clock?: Clock;
  /** A pino-compatible logger. @default no logging */
  logger?: FastifyBaseLogger;
  /** Largest request body; bigger ones get 413. @default BODY_LIMITS.inferBytes (8 MiB) */
  bodyLimitBytes?: number;
  /** Rows per request, values per row, string lengths (bigger get 400). @default LIMITS */
  limits?: Partial<InputLimits>;
  /** Header, request and idle timeouts (ms). @default SERVING_TIMEOUTS */
  timeouts?: Partial<HttpTimeouts>;
  /** Told about every request counted as an endpoint error (4xx bodies, 5xx model failures). */
  onRequestError?(info: RequestErrorInfo): void;
  /**
   * Checks the `Authorization` header of every request but `/v2/health/*`; a refusal is answered
   * as it says (401 or 403), before the body is read, and is neither served nor tracked.
   */
  authorize?(authorization: string | undefined): Promise<{ status: number; error: string; message: string } | undefined>;
}

/** Serving counters, per model endpoint and in total. */
export interface ServingStats extends ModelCounters {
  models: (ModelCounters & { name: string; version?: string; endpointId: string; state: ModelEntry['state'] })[];
}

/** A running (or ready to run) serving function. */
export interface ServingServer {
  app: FastifyInstance;
  /** Starts listening and returns the base URL. @default host 127.0.0.1, port 0 (any free port) */
  listen(host?: string, port?: number): Promise<string>;
  /**
   * Stops the HTTP server gracefully (not the tracker, which the caller owns): stops accepting,
   * answers the requests in flight, cuts off what is left after `deadlineMs` (default 10 s).
   */
  close(opts?: { deadlineMs?: number }): Promise<CloseReport>;
  /** Resolves once every model has loaded or failed to. */
  modelsLoaded(): Promise<void>;
  stats(): ServingStats;
}

const SERVER_VERSION = ((): string => {
  try {
    return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();

type Params = { name: string; version?: string };

/**
 * An HTTP server speaking the Open Inference Protocol (KServe V2) for a serving function's
 * models, tracking every request. Models start loading at once; `/v2/health/ready` answers
 * 200 once all have loaded (503 before, or if one failed). Errors are JSON `{ error, message }`.
 */
export function createServingServer(opts: ServingServerOptions): ServingServer {
  const registry = new ModelRegistry(opts.project, opts.functionName, opts.models);
  const clock = opts.clock ?? systemClock;
  if (opts.durableTracking && typeof opts.tracker?.trackRequestDurable !== 'function') {
    throw new ValidationError('durable tracking needs a tracker with trackRequestDurable (the Tracker class has it)');
  }
  const sinks = { tracker: opts.tracker, durable: opts.durableTracking === true, onRequestError: opts.onRequestError };
  const limits: InputLimits = { ...LIMITS, ...opts.limits };
  const http = { bodyLimit: opts.bodyLimitBytes ?? BODY_LIMITS.inferBytes, ...timeoutOptions({ ...SERVING_TIMEOUTS, ...opts.timeouts }) };
  // With a logger, fastify would make a child logger (binding the request id) for every request;
  // serving logs only failures, so those lines carry `reqId` themselves and requests share the logger.
  const app = (opts.logger
    ? Fastify({
        loggerInstance: opts.logger,
        ...http,
        logController: new LogController({ disableRequestLogging: true }),
        childLoggerFactory: (logger) => logger,
      })
    : Fastify({ logger: false, ...http })) as unknown as FastifyInstance;
  installGracefulClose(app);
  const starts = new WeakMap<FastifyRequest, RequestStart>();
  const startOf = (req: FastifyRequest): RequestStart => starts.get(req) ?? startRequest(clock);

  const authorize = opts.authorize;
  if (authorize) {
    app.addHook('onRequest', async (req, reply) => {
      if (req.routeOptions.url?.startsWith('/v2/health/')) return;
      const refused = await authorize(req.headers.authorization);
      if (refused) return reply.code(refused.status).header('www-authenticate', 'Bearer').send({ error: refused.error, message: refused.message });
    });
  }

  // Request start is taken before the body is read, so latency includes parsing.
  app.addHook('onRequest', async (req) => {
    starts.set(req, startRequest(clock));
  });
  // Inference bodies are JSON, and say so: a page on any site can make a browser send text/plain,
  // form and multipart bodies (never JSON without a CORS preflight, which this server does not
  // answer). Anything else is refused before it is read, served or tracked.
  app.addHook('onRequest', async (req, reply) => {
    if (req.method !== 'POST' || isJsonContentType(req.headers['content-type'])) return;
    return reply.code(415).send({ error: 'unsupported_media_type', message: 'inference requests need Content-Type: application/json' });
  });
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));

  const lookup = (params: Params, reply: FastifyReply): ModelEntry | undefined => {
    const entry = registry.find(params.name, params.version);
    if (!entry) {
      const what = params.version !== undefined ? `model '${params.name}' version '${params.version}'` : `model '${params.name}'`;
      void reply.code(404).send({ error: 'not_found', message: `${what} is not served by function '${opts.functionName}'` });
    }
    return entry;
  };

  app.get('/v2', async () => ({ name: 'modelwatch', version: SERVER_VERSION, extensions: [] }));
  app.get('/v2/health/live', async () => ({ live: true }));
  app.get('/v2/health/ready', async (_req, reply) => reply.code(registry.allReady() ? 200 : 503).send({ ready: registry.allReady() }));

  const metadata = async (req: FastifyRequest, reply: FastifyReply) => {
    const entry = lookup(req.params as Params, reply);
    if (!entry) return reply;
    const { served, endpoint } = entry;
    const labels = served.labelNames ?? [];
    return {
      name: served.name,
      versions: registry.versions(served.name),
      platform: 'modelwatch',
      // What each feature takes (the model's declaration, its training set), else FP64, the usual case.
      inputs: (served.featureNames ?? []).map((f, c) => ({ name: f, datatype: metadataDatatype(featureType(entry.inputs, c)), shape: [-1] })),
      // What every response answers: the declared datatype, else FP64 (numbers, as most models answer).
      outputs: [{ name: 'predict', datatype: served.model.outputDatatype ?? 'FP64', shape: labels.length > 1 ? [-1, labels.length] : [-1] }],
      parameters: {
        endpoint_id: endpoint.endpointId,
        function: opts.functionName,
        ...(served.version !== undefined ? { version: served.version } : {}),
        ...(served.modelUri !== undefined ? { model_uri: served.modelUri } : {}),
        ...(served.featureNames ? { feature_names: served.featureNames } : {}),
        ...(served.labelNames ? { label_names: served.labelNames } : {}),
      },
    };
  };
  app.get('/v2/models/:name', metadata);
  app.get('/v2/models/:name/versions/:version', metadata);

  const modelReady = async (req: FastifyRequest, reply: FastifyReply) => {
    const entry = lookup(req.params as Params, reply);
    if (!entry) return reply;
    const ready = entry.state === 'ready';
    return reply.code(ready ? 200 : 503).send({ name: entry.served.name, ready, ...(entry.loadError ? { error: entry.loadError } : {}) });
  };
  app.get('/v2/models/:name/ready', modelReady);
  app.get('/v2/models/:name/versions/:version/ready', modelReady);

  const infer = async (req: FastifyRequest, reply: FastifyReply) => {
    const entry = lookup(req.params as Params, reply);
    if (!entry) return reply;
    const outcome = await runInference(entry, req.body, startOf(req), sinks, limits);
    if (outcome.status >= 500) req.log.warn({ reqId: req.id, model: entry.served.name, status: outcome.status }, 'inference failed');
    return reply.code(outcome.status).send(outcome.body);
  };
  app.post('/v2/models/:name/infer', infer);
  app.post('/v2/models/:name/versions/:version/infer', infer);

  app.setNotFoundHandler(async (req, reply) =>
    reply.code(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` }),
  );
  app.setErrorHandler(async (err: FastifyError, req, reply) => {
    const status = err instanceof ModelwatchError ? err.httpStatus : (err.statusCode ?? 500);
    const code = errorCode(err, status);
    const message = status >= 500 && !(err instanceof ModelwatchError) ? 'internal server error' : err.message;
    if (status >= 500) req.log.error({ reqId: req.id, err }, 'request failed');
    // Bodies fastify rejects before our handler (too large, broken JSON) are endpoint errors too.
    const params = req.params as Partial<Params> | undefined;
    if (req.routeOptions.url?.endsWith('/infer') && typeof params?.name === 'string') {
      const entry = registry.find(params.name, params.version);
      if (entry) {
        entry.counters.requests += 1;
        return reply.code(status).send(endpointError(entry, sinks, startOf(req), undefined, [], status, code, message).body);
      }
    }
    return reply.code(status).send({ error: code, message });
  });

  return {
    app,
    async listen(host = '127.0.0.1', port = 0) {
      await app.listen({ host, port });
      const addr = app.server.address();
      if (addr === null || typeof addr === 'string') return String(addr);
      const h = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      return `http://${h}:${addr.port}`;
    },
    close: (o = {}) => closeGracefully(app, { deadlineMs: o.deadlineMs ?? SHUTDOWN_DEADLINE_MS }),
    modelsLoaded: () => registry.loaded,
    stats: () => servingStats(registry),
  };
}

function errorCode(err: FastifyError, status: number): string {
  if (err instanceof ModelwatchError) return err.code;
  if (status === 413) return 'payload_too_large';
  if (status === 415) return 'unsupported_media_type';
  if (status === 400) return 'validation_error';
  if (status === 404) return 'not_found';
  return status >= 500 ? 'internal_error' : 'bad_request';
}

function servingStats(registry: ModelRegistry): ServingStats {
  const models = registry.entries.map((e) => ({
    name: e.served.name,
    ...(e.served.version !== undefined ? { version: e.served.version } : {}),
    endpointId: e.endpoint.endpointId,
    state: e.state,
    ...e.counters,
  }));
  const sum = (k: keyof ModelCounters) => models.reduce((a, m) => a + m[k], 0);
  return { requests: sum('requests'), predictions: sum('predictions'), errors: sum('errors'), latencyUsTotal: sum('latencyUsTotal'), models };
}
