import { createRequire } from 'node:module';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { installGracefulClose, timeoutOptions } from '../common/http-server.ts';
import { BODY_LIMITS, REST_TIMEOUTS, type HttpTimeouts } from '../common/limits.ts';
import type { Logger } from '../common/logger.ts';
import { supervisorRunning } from '../project/deploy-state.ts';
import type { Platform } from '../project/platform.ts';
import { TokenVerifier } from '../auth/verifier.ts';
import { installTokenAuth } from './auth.ts';
import { installEmptyBodyAsObject } from './body.ts';
import { installCrossSiteChecks } from './cross-site.ts';
import { installErrorHandler } from './error-handler.ts';
import { installQueryChecks, schemaErrorFormatter } from './query.ts';
import { registerDeadLetterRoutes } from './routes/dead-letters.ts';
import { registerEndpointRoutes } from './routes/endpoints.ts';
import { registerFunctionRoutes } from './routes/functions.ts';
import { registerLateWindowRoutes } from './routes/late-windows.ts';
import { registerModelRoutes } from './routes/models.ts';
import { registerMonitoringRoutes } from './routes/monitoring.ts';
import { registerProjectRoutes } from './routes/projects.ts';
import { registerTokenRoutes } from './routes/tokens.ts';

/** Options of {@link createServer}. */
export interface ServerOptions {
  platform: Platform;
  /**
   * Check API tokens (`modelwatch tokens`): once the store holds any, every route but
   * `/api/v1/health` needs `Authorization: Bearer <token>` with a role that reaches it (see
   * `ROUTE_ACCESS`). `false` only for the CLI's in-process server, whose caller opened the home
   * itself. @default true
   */
  auth?: boolean;
  /** A pino logger, or `false` for none. @default the platform's logger */
  logger?: Logger | false;
  /** Log one line per request. @default false */
  requestLogging?: boolean;
  /** Largest body of `POST /models/:key` (a model file and its training set), in bytes. @default BODY_LIMITS.uploadBytes (32 MiB) */
  maxUploadBytes?: number;
  /** Header, request and idle timeouts (ms). @default REST_TIMEOUTS */
  timeouts?: Partial<HttpTimeouts>;
}

/** Every REST route lives under this prefix. */
export const API_PREFIX = '/api/v1';

const VERSION = ((): string => {
  try {
    return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();

/**
 * The modelwatch REST API (a Fastify app, not yet listening): the SDK's project operations
 * under `/api/v1`. It acts on the store only; deployed functions are run by the
 * {@link import('./supervisor.ts').Supervisor} (or by `modelwatch worker` processes elsewhere).
 */
export function createServer(opts: ServerOptions): FastifyInstance {
  const logger = opts.logger === undefined ? opts.platform.logger : opts.logger;
  const common = {
    logController: new LogController({ disableRequestLogging: !(opts.requestLogging ?? false) }),
    // Misspelt options must fail (400), not vanish, and `"5"` is not a number: Fastify's
    // defaults strip unknown properties and coerce types. Query strings parse their own numbers.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
    schemaErrorFormatter,
    // Routes that take data (uploads, invoke) raise their own limit.
    bodyLimit: BODY_LIMITS.restBytes,
    ...timeoutOptions({ ...REST_TIMEOUTS, ...opts.timeouts }),
  };
  const app = (logger
    ? Fastify({ ...common, loggerInstance: logger as FastifyBaseLogger })
    : Fastify({ ...common, logger: false })) as unknown as FastifyInstance;

  installGracefulClose(app);
  installQueryChecks(app);
  if (opts.auth ?? true) installTokenAuth(app, new TokenVerifier(opts.platform.store));
  installCrossSiteChecks(app);
  installErrorHandler(app);
  installEmptyBodyAsObject(app);

  app.register(
    async (api) => {
      // `supervisor`: whether deployed functions of this store are run (by this server or another `up`).
      api.get('/health', async () => ({ status: 'ok', version: VERSION, supervisor: await supervisorRunning(opts.platform) }));
      registerProjectRoutes(api, opts.platform);
      registerMonitoringRoutes(api, opts.platform);
      registerFunctionRoutes(api, opts.platform);
      registerModelRoutes(api, opts.platform, { maxUploadBytes: opts.maxUploadBytes ?? BODY_LIMITS.uploadBytes });
      registerEndpointRoutes(api, opts.platform);
      registerDeadLetterRoutes(api, opts.platform);
      registerLateWindowRoutes(api, opts.platform);
      registerTokenRoutes(api, opts.platform);
    },
    { prefix: API_PREFIX },
  );
  return app;
}
