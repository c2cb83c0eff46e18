/**
 * What every HTTP server of modelwatch (the REST API, serving functions) shares: timeouts that cut
 * off slow or silent clients, and a graceful close that finishes the requests in flight.
 */
import net from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { HttpTimeouts } from './limits.ts';

/** Fastify options that set a server's {@link HttpTimeouts}. */
export interface TimeoutOptions {
  connectionTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  http: { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number };
}

/** Fastify server options for `t`; node checks request and header times every quarter of the shorter (at most every second). */
export function timeoutOptions(t: HttpTimeouts): TimeoutOptions {
  for (const [k, v] of Object.entries(t)) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`timeout ${k} must be a whole number of milliseconds ≥ 1, got ${String(v)}`);
  }
  // node refuses a headers timeout beyond the request timeout.
  const headersTimeout = Math.min(t.headersMs, t.requestMs);
  const connectionsCheckingInterval = Math.max(5, Math.min(1000, Math.floor(headersTimeout / 4)));
  return {
    connectionTimeout: t.idleMs,
    requestTimeout: t.requestMs,
    keepAliveTimeout: t.keepAliveMs,
    http: { headersTimeout, requestTimeout: t.requestMs, connectionsCheckingInterval },
  };
}

/** What a graceful close did. */
export interface CloseReport {
  /** Connections still open at the deadline, cut off. */
  cutConnections: number;
  /** Milliseconds the close took. */
  tookMs: number;
}

/** Options of {@link closeGracefully}. */
export interface GracefulCloseOptions {
  /** Connections still open after this are cut off. */
  deadlineMs: number;
  /**
   * How long connections that are idle when the close begins stay open: a request a client sent
   * just before may still be on its way, and is answered. @default 1000 (never beyond the deadline)
   */
  idleGraceMs?: number;
}

interface DrainState {
  draining: boolean;
}

const states = new WeakMap<FastifyInstance, DrainState>();

/**
 * Makes `app` closable by {@link closeGracefully}: once the close begins, every answer carries
 * `Connection: close`, so that clients leave and the connection ends after its answer. Call it
 * before routes are added.
 */
export function installGracefulClose(app: FastifyInstance): void {
  const state: DrainState = { draining: false };
  states.set(app, state);
  app.addHook('onRequest', async (_req, reply) => {
    if (state.draining) void reply.header('connection', 'close');
  });
}

/**
 * Closes a listening server gracefully: stops accepting connections, answers the requests in
 * flight and those that arrive on open connections while it drains (each answer closes its
 * connection), closes idle connections after a short grace, cuts off what is left at the
 * deadline, then closes the app (its onClose hooks). Fastify's own close instead answers 503 to
 * requests that arrive while it closes and drops idle keep-alive connections at once, which resets
 * requests already on their way.
 */
export async function closeGracefully(app: FastifyInstance, opts: GracefulCloseOptions): Promise<CloseReport> {
  const started = Date.now();
  const state = states.get(app);
  const server = app.server;
  if (!state || !server.listening) {
    await app.close();
    return { cutConnections: 0, tookMs: Date.now() - started };
  }
  state.draining = true;
  const deadline = started + Math.max(0, opts.deadlineMs);
  // net's close, not http's: http's also closes idle keep-alive connections at once.
  const allClosed = new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve()));
  const closedBy = async (until: number): Promise<boolean> => {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, until - Date.now()))));
    try {
      return await Promise.race([allClosed.then(() => true), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  };

  let cutConnections = 0;
  if (!(await closedBy(Math.min(deadline, started + (opts.idleGraceMs ?? 1000))))) {
    server.closeIdleConnections();
    // A connection whose request came in during the grace ends with its answer; one that went idle
    // otherwise (its answer was written before the close began) is closed on the next sweep.
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    try {
      if (!(await closedBy(deadline))) {
        cutConnections = await countConnections(server);
        server.closeAllConnections();
      }
    } finally {
      clearInterval(sweep);
    }
  }
  await app.close();
  return { cutConnections, tookMs: Date.now() - started };
}

function countConnections(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.getConnections((err, n) => resolve(err ? 0 : n)));
}
