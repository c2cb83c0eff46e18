import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { Agent, request } from 'undici';
import type { InferenceEvent } from '../../src/common/types.ts';
import { StreamProcessor } from '../../src/pipeline/stream-processor/stream-processor.ts';
import type { Platform } from '../../src/project/platform.ts';
import type { DeadLetterRow } from '../../src/store/tsdb-port.ts';
import { topics } from '../../src/stream/port.ts';
import { openPlatform, runCli, startServer, tempHome } from './helpers.ts';

/*
 * Dead letters as operators see them: `GET /api/v1/projects/:p/dead-letters` over real HTTP (its
 * filters, and 1,000 query strings from fast-check: 200 only when every parameter is valid, else
 * 400, never 5xx) and `modelwatch dead-letters` (a table whose lines no event can break or turn into
 * terminal commands, and --json with the stored text whole).
 */
const T0 = Date.UTC(2026, 6, 1);

function event(ep: string, id: string, i: number): InferenceEvent {
  return { v: 1, endpointId: ep, project: 'p', function: 'f', model: 'm', when: new Date(T0 + i).toISOString(), latencyUs: 10, request: { id, inputs: [[i]] } };
}

describe('dead letters over REST and the CLI', { timeout: 300_000 }, () => {
  let platform: Platform;
  let app: FastifyInstance;
  let home: string;
  let cleanup: () => Promise<void>;
  let base: string;
  let letters: DeadLetterRow[];
  const agent = new Agent({ connections: 4 });

  before(async () => {
    const t = await tempHome('mw-dead-letters-');
    home = t.home;
    cleanup = t.cleanup;
    platform = await openPlatform(home);
    await platform.store.createProject({ name: 'p', description: '', labels: {}, monitoring: { enabled: true, basePeriodMinutes: 10, graceSeconds: 60, maxWindowsPerTick: 2, enabledAt: T0 }, createdAt: T0 });
    const stream = await platform.streamFor('p');
    const ok = [event('ep-1', 'a', 1), event('ep-2', 'b', 2)];
    const refused = [
      { ...event('ep-1', 'x'.repeat(300), 3) },
      { ...event('ep-2', 'terminal', 4), latencyUs: -1, model: 'm\u001b]0;pwned\u0007\u001b[2J' },
      'not json\n\u001b[31mred',
      { ...event('ep-1', 'late', 5), when: 'yesterday' },
    ];
    await stream.publish(topics.events('p'), [...ok, ...refused].map((e) => ({ key: 'k', value: typeof e === 'string' ? e : JSON.stringify(e) })));
    const sp = new StreamProcessor(platform, 'p', { lingerMs: 0 });
    while ((await sp.step()) > 0);
    await sp.close();
    letters = await (await platform.tsdbFor('p')).listDeadLetters('p');
    assert.equal(letters.length, 4);
    const s = await startServer(platform);
    app = s.app;
    base = `${s.url}/api/v1`;
  });

  after(async () => {
    await app?.close();
    await platform?.close();
    await agent.close();
    await cleanup?.();
  });

  async function get(path: string): Promise<{ status: number; body: unknown }> {
    const res = await request(`${base}${path}`, { dispatcher: agent });
    const text = await res.body.text();
    return { status: res.statusCode, body: text ? JSON.parse(text) : undefined };
  }

  it('lists them newest first, with their reasons, filtered by endpoint, time and number', async () => {
    const all = await get('/projects/p/dead-letters');
    assert.equal(all.status, 200);
    assert.deepEqual(all.body, letters);
    assert.deepEqual(
      (all.body as DeadLetterRow[]).map((d) => d.reason),
      ['event time "yesterday" is not an ISO time', 'event is not valid JSON', 'event latencyUs must be a non-negative number', 'event request.id is longer than 255 characters'],
    );
    assert.deepEqual(((await get('/projects/p/dead-letters?endpoint=ep-1')).body as DeadLetterRow[]).map((d) => d.endpointId), ['ep-1', 'ep-1']);
    assert.deepEqual(((await get('/projects/p/dead-letters?limit=1')).body as DeadLetterRow[]).length, 1);
    assert.deepEqual(((await get(`/projects/p/dead-letters?since=${Date.now() + 60_000}`)).body as DeadLetterRow[]).length, 0);
    assert.equal((await get('/projects/nope/dead-letters')).status, 404);
  });

  it('GET /projects/p/dead-letters: 1,000 query strings; unknown or malformed parameters get 400, never ignored, never 5xx', async () => {
    const known = ['endpoint', 'since', 'limit'];
    const ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;
    const time = (v: string) =>
      /^-?\d{1,16}$/.test(v) ? Math.abs(Number(v)) <= 8.64e15 : ISO.test(v) && !Number.isNaN(Date.parse(v)) && new Date(`${v.slice(0, 10)}T00:00:00Z`).toISOString().slice(0, 10) === v.slice(0, 10);
    // What each parameter takes, as an oracle independent of the server's own checks.
    const valid: Record<string, (v: string) => boolean> = {
      endpoint: (v) => v.length > 0 && [...v].length <= 128 && !v.includes('\u0000'),
      since: (v) => v === '' || time(v),
      limit: (v) => /^[1-9][0-9]{0,8}$/.test(v),
    };
    const text = fc.oneof(
      fc.constantFrom("a' OR '1'='1", '\u0000', 'ep-1', '', '0', '-5', '1e3', '2026-07-01', '2026-02-30', '99999999999999999999', 'x'.repeat(129), '😀'.repeat(128)),
      fc.string({ maxLength: 12 }),
      fc.string({ unit: 'binary', maxLength: 8 }),
      fc.integer().map(String),
    );
    const pairs = fc.array(fc.tuple(fc.oneof(fc.constantFrom(...known), fc.constantFrom('foo', 'Since', '__proto__', ''), fc.string({ maxLength: 5 })), text), { maxLength: 4 });
    await fc.assert(
      fc.asyncProperty(pairs, async (ps) => {
        // What the server receives: URLSearchParams sends a lone surrogate as U+FFFD.
        const sent = ps.map(([k, v]) => [k.replace(/[\ud800-\udfff]/g, '\uFFFD'), v.replace(/[\ud800-\udfff]/g, '\uFFFD')] as [string, string]);
        const qs = new URLSearchParams(ps).toString();
        const r = await get(`/projects/p/dead-letters?${qs}`);
        const names = sent.map(([k]) => k);
        const ok = new Set(names).size === names.length && sent.every(([k, v]) => known.includes(k) && valid[k]!(v));
        assert.equal(r.status, ok ? 200 : 400, `?${qs} -> ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
        if (!ok) assert.equal((r.body as { error?: string }).error, 'validation_error');
      }),
      { numRuns: 1000 },
    );
  });

  it('modelwatch dead-letters prints a table no event can break, and --json as stored', async () => {
    const table = await runCli(['--home', home, 'dead-letters', '--project', 'p']);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^TIME\s+ENDPOINT\s+REQUEST\s+OFFSET\s+REASON\s+EVENT$/);
    assert.equal(lines.length, 1 + letters.length, 'one line per dead letter');
    // eslint-disable-next-line no-control-regex -- the characters a terminal acts on
    assert.ok(!/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/.test(table.stdout), 'no control character of an event reaches the terminal');
    assert.ok(table.stdout.includes('not json\\n\\u001b[31mred'), 'shown escaped');
    assert.ok(table.stdout.includes('event request.id is longer than 255 characters'));
    const json = await runCli(['--home', home, 'dead-letters', '--project', 'p', '--json', '--endpoint', 'ep-1']);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), letters.filter((d) => d.endpointId === 'ep-1'));
    const none = await runCli(['--home', home, 'dead-letters', '--project', 'p', '--since', new Date(Date.now() + 60_000).toISOString()]);
    assert.equal(none.stdout.trim(), '(no dead letters)');
  });
});
