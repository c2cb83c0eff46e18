/**
 * Closed-loop HTTP load for soak tests: `connections` clients, each sending one inference request
 * after the other over a keep-alive connection, every answer recorded (time, status, latency, the
 * request's own id), failures (refused, reset) included.
 */
import http from 'node:http';

/** One request's outcome. */
export interface Outcome {
  /** Request id sent in the body (unique per request). */
  id: string;
  /** When it was sent and answered (ms, `performance.now()`). */
  sentMs: number;
  doneMs: number;
  /** HTTP status, or 0 when the request failed without an answer. */
  status: number;
  /** The error code of a failed request (ECONNREFUSED, ECONNRESET, ...). */
  error?: string;
}

/** A running load: stop() ends it and gives every outcome. */
export class Load {
  readonly outcomes: Outcome[] = [];
  private stopped = false;
  private readonly loops: Promise<void>[];
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });
  private seq = 0;

  /**
   * Starts the load on `url()` (asked before every request, so that it may change), with bodies
   * from `body(id)`. `pauseMs` between a client's requests bounds the rate.
   */
  constructor(
    private readonly url: () => string,
    private readonly body: (id: string) => unknown,
    connections: number,
    private readonly prefix: string,
    private readonly pauseMs = 0,
  ) {
    this.loops = Array.from({ length: connections }, () => this.loop());
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const id = `${this.prefix}-${this.seq++}`;
      const sentMs = performance.now();
      const r = await post(this.agent, this.url(), JSON.stringify(this.body(id)));
      this.outcomes.push({ id, sentMs, doneMs: performance.now(), ...r });
      // A refused connection (the worker restarting) is tried again after a moment, not in a tight loop.
      if (r.status === 0) await new Promise((res) => setTimeout(res, 20));
      else if (this.pauseMs > 0) await new Promise((res) => setTimeout(res, this.pauseMs));
    }
  }

  /** Stops sending, waits for the requests in flight, and returns every outcome. */
  async stop(): Promise<Outcome[]> {
    this.stopped = true;
    await Promise.all(this.loops);
    this.agent.destroy();
    return this.outcomes;
  }
}

function post(agent: http.Agent, url: string, body: string): Promise<{ status: number; error?: string }> {
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, timeout: 30_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
      res.on('error', (err: NodeJS.ErrnoException) => resolve({ status: 0, error: err.code ?? err.message }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ status: 0, error: err.code ?? err.message }));
    req.end(body);
  });
}

/** The value at quantile `q` (nearest rank) of `xs`. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}
