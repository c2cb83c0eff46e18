import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify, { type FastifyInstance } from 'fastify';
import { Client } from 'undici';
import { pino } from 'pino';
import { Platform } from '../project/platform.ts';
import { createServer } from '../server/app.ts';
import { createServingServer, type ServingServer } from '../serving/server.ts';
import { closeGracefully, installGracefulClose, timeoutOptions } from './http-server.ts';
import { REST_TIMEOUTS, SERVING_TIMEOUTS } from './limits.ts';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Short timeouts, so that the tests see slow clients cut off in well under a second or two. */
const SHORT = { headersMs: 300, requestMs: 600, keepAliveMs: 5000, idleMs: 5000 };

/**
 * A client that trickles a request: `head` at once, then one byte of `rest` every `everyMs`.
 * Resolves with how long the server kept the connection open (ms) and what it answered.
 */
function trickle(url: string, head: string, rest: string, everyMs = 100): Promise<{ openMs: number; answer: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let answer = '';
    let timer: NodeJS.Timeout | undefined;
    const socket = net.connect(Number(port), hostname, () => {
      socket.write(head);
      let i = 0;
      timer = setInterval(() => {
        if (i < rest.length && !socket.destroyed) socket.write(rest[i++]!);
      }, everyMs);
    });
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    socket.on('error', () => undefined); // a reset is a cut too
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ openMs: Date.now() - started, answer });
    });
    setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept a trickling client for more than 10 s (answer so far: ${JSON.stringify(answer)})`));
    }, 10_000).unref();
  });
}

describe('HTTP servers cut off slow clients', () => {
  let home: string;
  let platform: Platform;
  let rest: FastifyInstance;
  let restUrl: string;
  let serving: ServingServer;
  let servingUrl: string;

  before(async () => {
    home = await fs.mkdtemp(path.join(os.tmpdir(), 'mw-timeouts-'));
    platform = await Platform.open({ home, logger: pino({ level: 'silent' }) });
    rest = createServer({ platform, logger: false, timeouts: SHORT });
    restUrl = await rest.listen({ host: '127.0.0.1', port: 0 });
    serving = createServingServer({ project: 'p', functionName: 'f', models: [{ name: 'm', model: { predict: (rows) => rows.map(() => 1) } }], timeouts: SHORT });
    servingUrl = await serving.listen();
  });
  after(async () => {
    await serving.close();
    await rest.close();
    await platform.close();
    await fs.rm(home, { recursive: true, force: true });
  });

  // Headers that never end: one more header line, a byte at a time.
  const slowHeaders = (p: string) => [`POST ${p} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n`, 'X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'] as const;
  // Headers, then 15 of 100 declared bytes, then the rest a byte at a time.
  const slowBody = (p: string) => {
    const body = `{"inputs": [[1]], "pad": "${'x'.repeat(100 - 28)}"}`;
    assert.equal(body.length, 100);
    return [`POST ${p} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n${body.slice(0, 15)}`, body.slice(15)] as const;
  };

  for (const [server, route] of [
    ['REST', '/api/v1/projects'],
    ['serving', '/v2/models/m/infer'],
  ] as const) {
    it(`${server}: headers sent too slowly are cut off after the headers timeout`, async () => {
      const [head, rest_] = slowHeaders(route);
      const { openMs, answer } = await trickle(server === 'REST' ? restUrl : servingUrl, head, rest_);
      // The trickle would last 11 s; the server gives up after 300 ms (checked every 75 ms).
      assert.ok(openMs < 2000, `open for ${openMs} ms`);
      assert.match(answer, /^HTTP\/1\.1 408/);
    });

    it(`${server}: a body sent too slowly (15 of 100 bytes, then a trickle) is cut off after the request timeout`, async () => {
      const [head, rest_] = slowBody(route);
      const { openMs, answer } = await trickle(server === 'REST' ? restUrl : servingUrl, head, rest_);
      assert.ok(openMs >= 500 && openMs < 2500, `open for ${openMs} ms (the trickle would take 8.5 s)`);
      assert.match(answer, /^HTTP\/1\.1 408/);
    });
  }

  it('sets the defaults on both servers: headers 10 s, request 120 s (REST) and 30 s (serving), keep-alive 72 s', async () => {
    const app = createServer({ platform, logger: false });
    const s = createServingServer({ project: 'p', functionName: 'f', models: [{ name: 'm', model: { predict: (rows) => rows } }] });
    try {
      for (const [server, t] of [[app.server, REST_TIMEOUTS], [s.app.server, SERVING_TIMEOUTS]] as const) {
        assert.equal(server.headersTimeout, t.headersMs);
        assert.equal(server.requestTimeout, t.requestMs);
        assert.equal(server.keepAliveTimeout, t.keepAliveMs);
        assert.equal(server.timeout, t.idleMs);
      }
    } finally {
      await app.close();
      await s.close();
    }
    assert.throws(() => timeoutOptions({ ...SHORT, requestMs: 0 }), /requestMs must be a whole number/);
  });
});

describe('closeGracefully', () => {
  /** An app whose /slow answers after `?ms=`, ready to close gracefully. */
  async function slowApp(): Promise<{ app: FastifyInstance; url: string }> {
    const app = Fastify({ logger: false }) as unknown as FastifyInstance;
    installGracefulClose(app);
    app.get<{ Querystring: { ms?: string } }>('/slow', async (req) => {
      await sleep(Number(req.query.ms ?? 0));
      return { ok: true };
    });
    return { app, url: await app.listen({ host: '127.0.0.1', port: 0 }) };
  }

  it('answers the requests in flight and those that arrive on open connections during the grace, then refuses connections', async () => {
    const { app, url } = await slowApp();
    const busy = new Client(url);
    const idle = new Client(url);
    try {
      // An idle keep-alive connection: what a request sent just before the signal travels on.
      assert.equal((await idle.request({ path: '/slow', method: 'GET' })).statusCode, 200);
      const inFlight = busy.request({ path: '/slow?ms=400', method: 'GET' });
      await sleep(50);
      const closing = closeGracefully(app, { deadlineMs: 5000, idleGraceMs: 300 });
      await sleep(20);
      const late = await idle.request({ path: '/slow?ms=10', method: 'GET' });
      assert.equal(late.statusCode, 200, 'a request on an open connection during the grace is answered, not reset or 503');
      assert.equal(late.headers.connection, 'close');
      assert.deepEqual(await late.body.json(), { ok: true });
      const first = await inFlight;
      assert.equal(first.statusCode, 200);
      assert.deepEqual(await first.body.json(), { ok: true });
      const report = await closing;
      assert.equal(report.cutConnections, 0);
      assert.ok(report.tookMs < 2000, `took ${report.tookMs} ms`);
      await assert.rejects(new Client(url).request({ path: '/slow', method: 'GET' }), /ECONNREFUSED|other side closed|SocketError/);
    } finally {
      await busy.destroy();
      await idle.destroy();
    }
  });

  it('cuts off what is still open at the deadline', async () => {
    const { app, url } = await slowApp();
    const client = new Client(url);
    try {
      const stuck = client.request({ path: '/slow?ms=5000', method: 'GET' }).then(
        (r) => r.statusCode,
        (err: Error) => err.name,
      );
      await sleep(50);
      const report = await closeGracefully(app, { deadlineMs: 400, idleGraceMs: 100 });
      assert.equal(report.cutConnections, 1);
      assert.ok(report.tookMs >= 350 && report.tookMs < 2000, `took ${report.tookMs} ms`);
      assert.equal(await stuck, 'SocketError');
    } finally {
      await client.destroy();
    }
  });

  it('closes an app that never listened', async () => {
    const app = Fastify({ logger: false }) as unknown as FastifyInstance;
    installGracefulClose(app);
    assert.deepEqual((await closeGracefully(app, { deadlineMs: 100 })).cutConnections, 0);
  });
});
