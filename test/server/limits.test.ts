import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { request } from 'undici';
import type { Platform } from '../../src/project/platform.ts';
import { CLI, childEnv, hostileRestServer, tempHome, type RestAnswer } from './helpers.ts';

const MIB = 1024 * 1024;

/** Resident memory of a process in MB (Linux). */
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m, 'VmRSS is readable');
  return Number(m[1]) / 1024;
}

/**
 * Over a plain socket, sends a request declaring `declared` bytes of body (or chunked), writes
 * `send` bytes of it, then waits for the answer and resolves with its status and body. The server answers
 * 413 without reading past its limit and closes the connection; a client still writing then would
 * get a write error that drops the answer unread, so this one writes once and then only reads.
 */
function sendBig(url: string, declared: number | 'chunked', send: number): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(u.port), u.hostname);
    let answer = '';
    const timer = setTimeout(() => socket.destroy(new Error('no answer within 30 s')), 30_000);
    socket.on('data', (d: Buffer) => {
      answer += d.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})[^]*?\r\ncontent-length: (\d+)\r\n[^]*?\r\n\r\n/i.exec(answer);
      if (m && answer.length >= m[0].length + Number(m[2])) {
        clearTimeout(timer);
        socket.destroy();
        resolve({ status: Number(m[1]), body: answer.slice(m[0].length) });
      }
    });
    socket.on('error', () => undefined); // a reset once the server has answered
    socket.on('close', () => {
      clearTimeout(timer);
      reject(new Error(`no answer to a body of ${declared} bytes: ${JSON.stringify(answer.slice(0, 200))}`));
    });
    socket.once('connect', () => {
      const chunked = declared === 'chunked';
      socket.write(`POST ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/json\r\n${chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${declared}`}\r\n\r\n`);
      // One write: handed to the kernel at once, so no later write can fail under the server's close.
      const body = Buffer.alloc(send, 0x20);
      body.write('{"trainingSet": [');
      if (send > 0) socket.write(chunked ? Buffer.concat([Buffer.from(`${send.toString(16)}\r\n`), body, Buffer.from('\r\n')]) : body);
    });
  });
}

/** `modelwatch up` on a temp home and a free port, with its URL. */
async function startUp(home: string, extra: string[]): Promise<{ up: ChildProcess; url: string; output: () => string }> {
  const up = spawn(process.execPath, [...CLI, 'up', '--home', home, '--port', '0', '--no-workers', ...extra], { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  up.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  up.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`modelwatch up did not start:\n${out}`)), 60_000);
    up.stdout!.on('data', () => {
      const m = /modelwatch is up at (http:\/\/\S+) /.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    up.once('exit', (code) => reject(new Error(`modelwatch up exited (${String(code)}):\n${out}`)));
  });
  return { up, url, output: () => out };
}

describe('modelwatch up: body limits', { timeout: 120_000 }, () => {
  let cleanup: () => Promise<void>;
  let up: ChildProcess | undefined;

  after(async () => {
    up?.kill('SIGKILL');
    await cleanup();
  });

  it('refuses bodies over the limits with 413 before reading them, so memory stays flat; --max-upload-mb sets the upload limit', async () => {
    const t = await tempHome('mw-limits-');
    cleanup = t.cleanup;
    const started = await startUp(t.home, ['--max-upload-mb', '2']);
    up = started.up;
    const api = `${started.url}/api/v1`;
    const json = { 'content-type': 'application/json' };
    assert.equal((await request(`${api}/projects`, { method: 'POST', headers: json, body: JSON.stringify({ name: 'p' }) })).statusCode, 201);

    const before = rssMb(up.pid!);
    // Declared bodies over the limit are refused on their Content-Length, before a byte is read: 1 GB
    // to the upload route (limit 2 MiB), 2 MiB to a route of the 1 MiB default. Chunked bodies are
    // read up to the limit, then refused.
    for (let i = 0; i < 5; i++) assert.equal((await sendBig(`${api}/projects/p/models/m`, 1024 * MIB, 0)).status, 413);
    assert.equal((await sendBig(`${api}/projects/p/monitoring/enable`, 2 * MIB, 0)).status, 413);
    for (let i = 0; i < 5; i++) assert.equal((await sendBig(`${api}/projects/p/models/m`, 'chunked', 2 * MIB + 64 * 1024)).status, 413);
    assert.equal((await sendBig(`${api}/projects/p/monitoring/enable`, 'chunked', MIB + 64 * 1024)).status, 413);
    const grown = rssMb(up.pid!) - before;
    assert.ok(grown < 40, `RSS grew by ${grown.toFixed(1)} MB for 5 GB declared and 12 MB sent of refused bodies`);

    // A 1.5 MiB training set is over the REST default but under --max-upload-mb 2: it is taken.
    const rows = Array.from({ length: 90_000 }, (_, i) => ({ a: i, b: (i * 7) % 13 }));
    const body = JSON.stringify({ trainingSet: rows });
    assert.ok(body.length > 1.5 * MIB && body.length < 2 * MIB, String(body.length));
    const logged = await request(`${api}/projects/p/models/m`, { method: 'POST', headers: json, body });
    assert.equal(logged.statusCode, 201, await logged.body.text());
    const too = await sendBig(`${api}/projects/p/models/m2`, body.length + MIB, 0);
    assert.equal(too.status, 413);
    assert.deepEqual(JSON.parse(too.body), { error: 'payload_too_large', message: 'Request body is too large' });

    up.kill('SIGTERM');
    const [code] = (await once(up, 'exit')) as [number | null];
    assert.equal(code, 0, started.output());
    up = undefined;
  });

  it('refuses a --max-upload-mb that is not a number of megabytes from 1 to 512', async () => {
    const t = await tempHome('mw-limits-');
    try {
      for (const bad of ['0', '513', 'lots']) {
        const r = await new Promise<{ code: number | null; err: string }>((resolve) => {
          const p = spawn(process.execPath, [...CLI, 'up', '--home', t.home, '--port', '0', '--max-upload-mb', bad], { env: childEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
          let err = '';
          p.stderr.on('data', (d: Buffer) => (err += d.toString()));
          p.on('close', (code) => resolve({ code, err }));
        });
        assert.equal(r.code, 2, bad);
        assert.match(r.err, /must be a number of megabytes from 1 to 512/);
      }
    } finally {
      await t.cleanup();
    }
  });
});

// ---- hostile payloads and query strings, 1,000 cases per entry point, through the real server.

const SQLISH = ["a' OR '1'='1", "1; DROP TABLE projects; --", '../../etc/passwd', '%00', '\u0000', '${jndi:x}', '<script>', '1e15', '-1', 'NaN', 'Infinity', '2024-02-30', '99999999999999999999'];
const hostileText = fc.oneof(fc.constantFrom(...SQLISH), fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 8 }), fc.integer().map(String));
describe('REST API: hostile payloads and query strings (fast-check, real HTTP)', { timeout: 300_000 }, () => {
  let platform: Platform;
  let call: (method: 'GET' | 'POST', path: string, body?: string) => Promise<RestAnswer>;
  let close: () => Promise<void>;

  before(async () => {
    ({ platform, call, close } = await hostileRestServer('mw-hostile-'));
  });
  after(() => close());

  /** A query string of known and unknown parameters with hostile values, sometimes repeated. */
  const query = (known: string[]) =>
    fc.array(fc.tuple(fc.oneof(fc.constantFrom(...known), fc.constantFrom('foo', 'START', 'start[]', '__proto__', ''), fc.string({ maxLength: 5 })), fc.oneof(hostileText, fc.constantFrom('2024-05-01', '2024-05-01T10:00:00Z', '1714557600000', '10', 'data-drift-detected', 'general_drift', 'histogram-data-drift'))), { maxLength: 4 });
  const qs = (pairs: [string, string][]) => new URLSearchParams(pairs).toString();

  // What each parameter takes, as an oracle independent of the server's own checks.
  const ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;
  const time = (v: string) => /^-?\d{1,16}$/.test(v) ? Math.abs(Number(v)) <= 8.64e15 : ISO.test(v) && !Number.isNaN(Date.parse(v)) && new Date(`${v.slice(0, 10)}T00:00:00Z`).toISOString().slice(0, 10) === v.slice(0, 10);
  const VALID: Record<string, (v: string) => boolean> = {
    endpoint: (v) => /^[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?$/.test(v) && v.length <= 128,
    app: (v) => /^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$/.test(v),
    name: (v) => /^[a-zA-Z_][a-zA-Z0-9_]{0,127}$/.test(v),
    start: (v) => v === '' || time(v),
    end: (v) => v === '' || time(v),
    since: (v) => v === '' || time(v),
    limit: (v) => /^[1-9][0-9]{0,8}$/.test(v),
    kind: (v) => /^[a-z][a-z0-9-]{0,63}$/.test(v),
    full: (v) => v === 'true' || v === 'false',
    tag: (v) => /^[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?$/.test(v) && v.length <= 128,
  };
  /** 200 only when every parameter is known to the route, given once, and valid. */
  const acceptable = (pairs: [string, string][], known: string[]) => {
    const names = pairs.map(([k]) => k);
    if (new Set(names).size !== names.length) return false;
    if (!pairs.every(([k, v]) => known.includes(k) && VALID[k]!(v))) return false;
    const start = pairs.find(([k]) => k === 'start')?.[1];
    const end = pairs.find(([k]) => k === 'end')?.[1];
    return !(start && end && timeMs(end) < timeMs(start));
  };
  const timeMs = (v: string) => (/^-?\d+$/.test(v) ? Number(v) : Date.parse(v));

  for (const [path, known] of [
    ['/projects/p/results', ['endpoint', 'app', 'name', 'start', 'end', 'limit']],
    ['/projects/p/events', ['endpoint', 'kind', 'since', 'limit']],
    ['/projects/p/endpoints', ['full']],
  ] as const) {
    it(`GET ${path}: 1,000 query strings; unknown or malformed parameters get 400, never ignored, never 5xx`, async () => {
      await fc.assert(
        fc.asyncProperty(query([...known]), async (pairs) => {
          const r = await call('GET', `${path}?${qs(pairs)}`);
          const expected = acceptable(pairs, [...known]) ? 200 : 400;
          assert.equal(r.status, expected, `${path}?${qs(pairs)} -> ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
          if (r.status === 400) assert.equal(r.body.error, 'validation_error');
        }),
        { numRuns: 1000 },
      );
    });
  }

  it('GET routes that take no parameters: 1,000 query strings, all refused with 400 naming the parameter', async () => {
    const routes = ['/projects', '/projects/p', '/projects/p/models', '/projects/p/functions/nope', '/projects/p/credentials', '/health'];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), query(['x']).filter((q) => q.length > 0), async (route, pairs) => {
        const r = await call('GET', `${route}?${qs(pairs)}`);
        assert.equal(r.status, 400, `${route}?${qs(pairs)} -> ${r.status}`);
        assert.match(r.body.message ?? '', /^unknown query parameter '|^querystring/);
      }),
      { numRuns: 1000 },
    );
    assert.deepEqual((await call('GET', '/projects?start=1')).body, { error: 'validation_error', message: "unknown query parameter 'start'" });
  });

  it("`?start=a' OR '1'='1` is refused, not read as the year 2001", async () => {
    const r = await call('GET', `/projects/p/results?${qs([['start', "a' OR '1'='1"]])}`);
    assert.equal(r.status, 400);
    assert.equal(r.body.message, "start must be epoch milliseconds or an ISO-8601 time (2024-05-01T10:00:00Z), got 'a' OR '1'='1'");
  });

  it('refuses monitoring settings out of range with 400 and stores none of them (1e15 minutes, 1e400, a day and a second of grace)', async () => {
    const settings = async () => (await platform.store.getProject('p'))!.monitoring;
    assert.equal((await call('POST', '/projects/p/monitoring/enable', '{"basePeriod": 10}')).status, 200);
    const before = await settings();
    for (const [body, message] of [
      ['{"basePeriod": 1e15, "rebuild": true}', 'basePeriod must be a whole number of minutes from 1 to 10080 (a week), got 1000000000000000'],
      ['{"basePeriod": 10081, "rebuild": true}', 'basePeriod must be a whole number of minutes from 1 to 10080 (a week), got 10081'],
      ['{"basePeriod": 1e400, "rebuild": true}', /^body\/basePeriod must be number$|basePeriod must be a whole number/],
      ['{"graceSeconds": 86401}', 'graceSeconds must be from 0 to 86400 (a day), got 86401'],
      ['{"maxWindowsPerTick": 10001}', 'maxWindowsPerTick must be a whole number from 1 to 10000, got 10001'],
    ] as const) {
      const r = await call('POST', '/projects/p/monitoring/enable', body);
      assert.equal(r.status, 400, body);
      if (typeof message === 'string') assert.equal(r.body.message, message);
      else assert.match(r.body.message ?? '', message);
    }
    assert.equal((await call('POST', '/projects/p/monitoring/controller', '{"basePeriod": 1e15}')).status, 400);
    assert.deepEqual(await settings(), before, 'nothing of the refused settings was stored');
    assert.equal((await call('POST', '/projects/p/monitoring/enable', '{"basePeriod": 10080, "graceSeconds": 86400, "rebuild": true}')).status, 200, 'the bounds themselves are taken');
  });
});
