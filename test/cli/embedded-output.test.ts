import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { childEnv, runNode, tempHome, type CliRun } from '../server/helpers.ts';

const MODELWATCH = pathToFileURL(path.resolve('src/project/modelwatch.ts')).href;

/**
 * A user's script: the embedded flow (monitoring with a short period, which warns; a logged model;
 * a tracked serving function, one request of which fails in the model, which warns too), printing
 * only its own lines.
 */
const SCRIPT = (logLevel: string | undefined) => `
import { Modelwatch } from ${JSON.stringify(MODELWATCH)};
const mw = await Modelwatch.open({ home: process.argv[2], background: false${logLevel ? `, logLevel: ${JSON.stringify(logLevel)}` : ''} });
const project = await mw.createProject('quiet');
await project.enableModelMonitoring({ basePeriod: 1 });
const rows = Array.from({ length: 50 }, (_, i) => ({ a: i % 7, b: i % 3, y: i % 2 }));
const model = await project.logModel('m', { trainingSet: rows, labelColumn: 'y' });
const fn = await project.setFunction('serving');
fn.addModel('m', { model: { predict: (batch) => batch.map((r) => { if (r[0] < 0) throw new Error('negative'); return r[0] + r[1]; }) }, modelUri: model.uri }).setTracking();
await project.deployFunction(fn);
const out = await fn.invoke('/v2/models/m/infer', { inputs: [[1, 2]] });
console.log('prediction', JSON.stringify(out.outputs[0].data));
await fn.invoke('/v2/models/m/infer', { inputs: [[-1, 2]] }).catch((err) => console.log('failed', err.status));
await mw.runUntilIdle();
console.log('endpoints', (await project.listModelEndpoints()).length);
await mw.close();
`;

const EXPECTED = 'prediction [3]\nfailed 500\nendpoints 1\n';

function run(script: string, home: string, env: NodeJS.ProcessEnv): Promise<CliRun> {
  // tsx runs the script (it imports the sources), as a user's runs with `node script.mjs`.
  return runNode(['--import', import.meta.resolve('tsx'), script, home], { env });
}

/** The JSON log lines of a stream, by level name. */
function logLines(text: string): { level: number; msg: string }[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string });
}

describe('embedded mode writes no log line to the user\'s stdout', { timeout: 120_000 }, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  // A user's environment: no test runner, no log level chosen.
  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => {
    const e = childEnv(extra);
    if (!('MODELWATCH_LOG_LEVEL' in extra)) delete e.MODELWATCH_LOG_LEVEL;
    return e;
  };

  before(async () => {
    ({ home: dir, cleanup } = await tempHome('mw-quiet-'));
    await fs.writeFile(path.join(dir, 'default.mts'), SCRIPT(undefined));
    await fs.writeFile(path.join(dir, 'silent.mts'), SCRIPT('silent'));
  });

  after(async () => cleanup());

  test('by default: stdout is the script\'s own, warnings go to stderr', async () => {
    const r = await run(path.join(dir, 'default.mts'), path.join(dir, 'home-default'), env());
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, EXPECTED);
    const logs = logLines(r.stderr);
    assert.ok(logs.some((l) => /basePeriod below 10 minutes/.test(l.msg)), r.stderr);
    assert.ok(logs.every((l) => l.level >= 40), `only warn and above by default:\n${r.stderr}`);
  });

  test('MODELWATCH_LOG_LEVEL=debug: more lines, all on stderr', async () => {
    const r = await run(path.join(dir, 'default.mts'), path.join(dir, 'home-debug'), env({ MODELWATCH_LOG_LEVEL: 'debug' }));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, EXPECTED);
    assert.ok(logLines(r.stderr).some((l) => l.level < 40), `lines below warn at debug:\n${r.stderr}`);
  });

  test('Modelwatch.open({ logLevel: \'silent\' }): nothing on either stream', async () => {
    const r = await run(path.join(dir, 'silent.mts'), path.join(dir, 'home-silent'), env());
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, EXPECTED);
    assert.equal(r.stderr, '');
  });
});
