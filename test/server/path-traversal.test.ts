import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { Pool } from 'undici';
import { isInside, safeFileName } from '../../src/common/safe-path.ts';
import type { Platform } from '../../src/project/platform.ts';
import { hostileName } from '../support/hostile-names.ts';
import { openPlatform, startServer, waitFor } from './helpers.ts';

/*
 * Every REST route that writes files, or names files the server would later create or read, fed
 * hostile names (traversal, absolute, NUL, look-alike dots and slashes, percent-encoding, trailing
 * dots and spaces; 1,000 per entry point) through the real server and a real HTTP client: each is
 * refused with 400, and no file appears outside the home. Each name carries a marker of this run,
 * so that a file it made anywhere would be found.
 */

const RUNS = 1000;
const MARKER = `mwprobe${randomBytes(4).toString('hex')}`;
const ROWS = [{ a: 1 }, { a: 2 }, { a: 3 }];

describe('REST: names and paths that would leave their folder are refused with 400', { timeout: 300_000 }, () => {
  let sandbox: string;
  let home: string;
  let code: string;
  let okModel: string;
  let platform: Platform;
  let app: FastifyInstance;
  let pool: Pool;
  let watched: Map<string, Set<string>>;

  /** Answers status and parsed body. */
  const send = async (method: 'POST' | 'PUT', urlPath: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await pool.request({ method, path: `/api/v1${urlPath}`, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await res.body.text();
    return { status: res.statusCode, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };
  const refused = async (method: 'POST' | 'PUT', urlPath: string, body: unknown, what: string): Promise<void> => {
    const r = await send(method, urlPath, body);
    assert.equal(r.status, 400, `${what}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error, 'validation_error', what);
  };
  /** Outside the home: a sibling folder, the code root, system folders; traversal pieces then climb from there. */
  const outside = (dirs: string[]): fc.Arbitrary<string> => fc.tuple(fc.constantFrom(...dirs), hostileName(MARKER)).map(([dir, name]) => path.join(dir, name));
  /** Names climb or stay where they start; none names the code root or the home (see hostileName). */
  const outsideAll = (): fc.Arbitrary<string> => outside([path.join(sandbox, 'outside'), '/', '/etc', '/tmp', os.tmpdir(), sandbox]);
  const outsideHome = (): fc.Arbitrary<string> => fc.oneof(outsideAll(), outside([code]));

  /** Entries of the folders a hostile name could reach, to compare before and after. */
  const snapshot = (): Map<string, Set<string>> => {
    const out = new Map<string, Set<string>>();
    const list = (dir: string): Set<string> => new Set(fs.existsSync(dir) ? fs.readdirSync(dir) : []);
    for (const dir of new Set(['/', '/etc', '/tmp', os.tmpdir(), process.cwd(), path.dirname(sandbox), sandbox, path.join(sandbox, 'outside'), code])) out.set(dir, list(dir));
    return out;
  };

  before(async () => {
    sandbox = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'mw-traversal-')));
    home = path.join(sandbox, 'home');
    code = path.join(sandbox, 'code');
    fs.mkdirSync(path.join(sandbox, 'outside'));
    fs.mkdirSync(code);
    okModel = path.join(code, 'ok-model.mjs');
    fs.writeFileSync(okModel, 'export default { predict: (rows) => rows.map(() => 0) };\n');
    platform = await openPlatform(home, { codeRoots: [code] });
    const s = await startServer(platform);
    app = s.app;
    pool = new Pool(s.url, { connections: 4 });
    assert.equal((await send('POST', '/projects', { name: 'sandbox' })).status, 201);
    watched = snapshot();
  });

  after(async () => {
    await pool?.close();
    await app?.close();
    await platform?.close();
    fs.rmSync(sandbox, { recursive: true, force: true });
  });

  test('project names (POST /projects)', async () => {
    await fc.assert(fc.asyncProperty(hostileName(MARKER), (name) => refused('POST', '/projects', { name }, name)), { numRuns: RUNS });
  });

  test('model keys (POST /projects/:p/models/:key)', async () => {
    await fc.assert(
      fc.asyncProperty(hostileName(MARKER), (key) => refused('POST', `/projects/sandbox/models/${encodeURIComponent(key)}`, { trainingSet: ROWS }, key)),
      { numRuns: RUNS },
    );
  });

  test('model tags (POST /projects/:p/models/:key { tag })', async () => {
    await fc.assert(fc.asyncProperty(hostileName(MARKER), (tag) => refused('POST', '/projects/sandbox/models/k', { trainingSet: ROWS, tag }, tag)), { numRuns: RUNS });
  });

  test('function names (PUT /projects/:p/functions/:name)', async () => {
    await fc.assert(
      fc.asyncProperty(hostileName(MARKER), fc.boolean(), (name, serving) =>
        refused(
          'PUT',
          `/projects/sandbox/functions/${encodeURIComponent(name)}`,
          serving ? { kind: 'serving', spec: { models: [{ name: 'm', modelPath: okModel }] } } : { kind: 'monitoring-application', application: 'data-drift-report' },
          name,
        ),
      ),
      { numRuns: RUNS },
    );
  });

  test('module files of models and apps (modelPath, source, application)', async () => {
    // Outside the code root, or in the home and its artifact path (where uploads are), which lie outside it here.
    const modulePath = fc.tuple(fc.oneof(outsideAll(), outside([home, path.join(home, 'artifacts'), path.join(home, 'artifacts', 'sandbox', 'models')])), fc.constantFrom('.js', '.mjs', '.ts', '')).map(([p, ext]) => p + ext);
    await fc.assert(
      fc.asyncProperty(modulePath, fc.constantFrom('modelPath', 'source', 'application'), async (file, field) => {
        const body =
          field === 'application'
            ? { kind: 'monitoring-application', application: file }
            : { kind: 'serving', spec: field === 'modelPath' ? { models: [{ name: 'm', modelPath: file }] } : { source: file, models: [{ name: 'm', modelUri: 'store://models/sandbox/k', className: 'M' }] } };
        await refused('PUT', `/projects/sandbox/functions/f-${field.toLowerCase()}`, body, `${field} ${file}`);
      }),
      { numRuns: RUNS },
    );
  });

  test('database and stream files (PUT credentials, a serving function\'s tracking.streamPath)', async () => {
    const fileUrl = fc.tuple(fc.constantFrom('sqlite://', 'sqlite:', 'embedded://', ''), fc.oneof(outsideHome(), hostileName(MARKER))).map(([scheme, p]) => `${scheme}${p}`);
    await fc.assert(
      fc.asyncProperty(fileUrl, fc.constantFrom('endpointStoreConnection', 'tsdbConnection', 'streamPath', 'tracking'), fc.boolean(), async (url, field, replace) => {
        if (field === 'tracking') {
          const spec = { models: [{ name: 'm', modelPath: okModel }], tracking: { enabled: true, samplingPercentage: 100, streamPath: url } };
          await refused('PUT', '/projects/sandbox/functions/tracked', { kind: 'serving', spec }, url);
        } else {
          // The embedded:// scheme holds streams only; either way nothing is stored.
          await refused('PUT', '/projects/sandbox/credentials', { [field]: url, ...(replace ? { replace } : {}) }, `${field} ${url}`);
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('data files of apps (the data-drift-report app\'s referencePath)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(outsideHome(), hostileName(MARKER).map((n) => `../${n}`)), (referencePath) =>
        refused('PUT', '/projects/sandbox/functions/report', { kind: 'monitoring-application', application: 'data-drift-report', options: { referencePath } }, referencePath),
      ),
      { numRuns: RUNS },
    );
  });

  test('uploaded model file names are made safe and land in the model\'s folder', async () => {
    const dir = path.join(home, 'artifacts', 'sandbox', 'models', 'up', 'latest');
    await fc.assert(
      fc.asyncProperty(fc.oneof(hostileName(MARKER), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 })), async (name) => {
        const r = await send('POST', '/projects/sandbox/models/up', { trainingSet: ROWS, modelFile: { name, base64: 'AQID' } });
        assert.equal(r.status, 201, JSON.stringify(r.body));
        const stored = path.join(home, 'artifacts', String(r.body.modelFile));
        assert.equal(stored, path.join(dir, safeFileName(name, 'model')));
        assert.ok(isInside(stored, dir));
      }),
      { numRuns: RUNS },
    );
    // Uploads wait in the artifact path and are removed once logged (just after the answer).
    await waitFor('uploads removed', async () => (fs.readdirSync(path.join(home, 'artifacts', '.uploads')).length === 0 ? true : undefined), 5000);
  });

  test('no file appeared outside the home, and nothing was stored under a hostile name', async () => {
    const now = snapshot();
    for (const [dir, before] of watched) {
      const added = [...(now.get(dir) ?? [])].filter((e) => !before.has(e) && (e.includes(MARKER) || e === 'tmp' || e === 'etc' || e.includes('mwprobe')));
      assert.deepEqual(added, [], `new entries in ${dir}`);
    }
    const everything = (dir: string): string[] => fs.readdirSync(dir, { recursive: true }).map(String);
    assert.deepEqual(everything(sandbox).filter((p) => p.includes(MARKER) && !p.startsWith(`home${path.sep}artifacts${path.sep}sandbox${path.sep}models${path.sep}up${path.sep}`)), []);
    assert.deepEqual((await platform.store.listProjects()).map((p) => p.name), ['sandbox']);
    assert.deepEqual((await platform.store.listFunctions('sandbox')).map((f) => f.name), []);
    assert.deepEqual((await platform.store.listModels('sandbox')).map((m) => `${m.key}:${m.tag}`), ['up:latest']);
    assert.equal(await platform.store.getCredentials('sandbox'), undefined);
  });
});
