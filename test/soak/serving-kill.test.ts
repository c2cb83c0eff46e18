import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { connect, type RemoteProject } from '../../src/project/client.ts';
import type { FunctionRecord } from '../../src/store/port.ts';
import { waitFor } from '../server/helpers.ts';
import { Load, type Outcome } from './lib/load.ts';
import { UpProcess } from './lib/up-process.ts';

/*
 * Issue 23, reliability 4: `kill -9` of a serving worker under `modelwatch up` (the embedded
 * default: SQLite store, embedded stream log) in the middle of load. With durable tracking every
 * request answered 200 has its event stored; without it, what is lost is at most what was answered
 * within about one flush interval (100 ms) before the kill. Either way the worker comes back on
 * the same port.
 */

const API_PORT = 15720;
const PROJECT = 'kill';
const FLUSH_INTERVAL_MS = 100;

const MODEL = `export class SumModel {
  predict(rows) { return rows.map((r) => r.reduce((a, b) => a + b, 0)); }
}
`;

describe('kill -9 of a serving worker under load (modelwatch up, embedded backends)', { timeout: 600_000 }, () => {
  let dir: string;
  let home: string;
  let code: string;
  let up: UpProcess | undefined;
  let project: RemoteProject;
  let modelUri: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-soak-kill-'));
    home = path.join(dir, 'home');
    code = path.join(dir, 'code');
    fs.mkdirSync(code);
    fs.writeFileSync(path.join(code, 'sum-model.mjs'), MODEL);
    up = await UpProcess.start(API_PORT, ['--home', home, '--code-root', code], {}, dir);
    project = await connect({ url: up.url }).createProject(PROJECT);
    await project.enableModelMonitoring({ basePeriod: 1, deployHistogramDataDriftApp: false });
    modelUri = (await project.logModel('sum', { trainingSet: Array.from({ length: 50 }, (_, i) => ({ a: i % 7, b: i % 5 })) })).uri;
  });

  after(async () => {
    await up?.stop();
    if (up) fs.writeFileSync(path.join(os.tmpdir(), 'mw-soak-serving-kill.log'), `${up.lines.join('\n')}\n`);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Deploys the serving function (durable or not), loads it, kills its worker mid-load; returns what happened. */
  async function killUnderLoad(durable: boolean, prefix: string) {
    const fn = await project.setFunction('serving');
    fn.addModel('sum', { modelPath: path.join(code, 'sum-model.mjs'), className: 'SumModel', modelUri }).setTracking({ durable });
    const deployed = await project.deployFunction(fn);
    const before = await waitFor('serving running', async () => {
      const f = await project.getFunction('serving');
      return f.status.state === 'running' && f.status.version === deployed.updatedAt && f.status.address ? f : undefined;
    });
    const load = new Load(() => `${before.status.address!}/v2/models/sum/infer`, (id) => ({ id, inputs: [[1, 2]] }), 4, prefix);
    // Killed once the load is well under way (however fast this machine is today).
    await waitFor('load under way', async () => (load.outcomes.filter((o) => o.status === 200).length >= 1000 ? true : undefined), 120_000);
    const killedAt = performance.now();
    process.kill(before.status.pid!, 'SIGKILL');
    const after = await waitFor('serving restarted', async () => {
      const f = await project.getFunction('serving');
      return f.status.state === 'running' && f.status.pid !== before.status.pid ? f : undefined;
    }, 60_000);
    // Answering again at the same address, for a few seconds.
    await waitFor('answers again', async () => (load.outcomes.some((o) => o.sentMs > killedAt && o.status === 200) ? true : undefined), 60_000);
    await sleep(3000);
    const outcomes = await load.stop();
    return { before, after, killedAt, outcomes };
  }

  it('durable tracking: every request answered 200 has its event stored; the worker comes back on its port', async () => {
    const { before, after, killedAt, outcomes } = await killUnderLoad(true, 'd');
    assertSamePort(before, after);
    const answered = outcomes.filter((o) => o.status === 200);
    const stored = await settledStored(home, answered.length);
    const missing = answered.filter((o) => !stored.has(o.id));
    console.log(
      `durable: ${outcomes.length} requests, ${answered.length} answered 200 (${answered.filter((o) => o.doneMs < killedAt).length} before the kill), ` +
        `${outcomes.filter((o) => o.status === 0).length} without an answer (worker down); ${missing.length} answered but not stored`,
    );
    assert.ok(answered.filter((o) => o.doneMs < killedAt).length >= 1000, 'load ran before the kill');
    assert.deepEqual(missing.slice(0, 5).map((o) => o.id), [], `${missing.length} requests answered 200 have no stored event`);
    assert.ok(outcomes.every((o) => o.status === 200 || o.status === 0), `only 200s and connection failures: ${[...new Set(outcomes.map((o) => o.status))].join(',')}`);
  });

  it('without durable tracking: the loss is at most what was answered within about one flush interval before the kill', async () => {
    const { before, after, killedAt, outcomes } = await killUnderLoad(false, 'n');
    assertSamePort(before, after);
    const answered = outcomes.filter((o) => o.status === 200);
    const stored = await settledStored(home, 0);
    const lost = answered.filter((o) => !stored.has(o.id));
    // A flush takes what was answered in the last interval; one more interval covers the publish under way at the kill.
    const bound = answered.filter((o) => o.doneMs >= killedAt - 2 * FLUSH_INTERVAL_MS - 50 && o.doneMs <= killedAt + 50).length;
    const lostAfterKill = lost.filter((o) => o.sentMs > killedAt + 50);
    console.log(`not durable: ${answered.length} answered 200; ${lost.length} not stored; answered within ${2 * FLUSH_INTERVAL_MS + 100} ms around the kill: ${bound}`);
    assert.deepEqual(lostAfterKill.map((o) => o.id), [], 'nothing answered by the new worker is lost');
    assert.ok(lost.length <= bound, `${lost.length} lost, more than the ${bound} answered within two flush intervals of the kill`);
  });
});

function assertSamePort(before: FunctionRecord, after: FunctionRecord): void {
  assert.equal(after.status.address, before.status.address, 'the same address after the restart');
  assert.equal(after.status.port, before.status.port);
  assert.ok((after.status.restarts ?? 0) >= 1, JSON.stringify(after.status));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Request ids stored in the home's time series (the SQLite file), once the stream processor has caught up. */
async function settledStored(home: string, atLeast: number): Promise<Set<string>> {
  const read = (): Set<string> => {
    const db = new Database(path.join(home, 'modelwatch.db'), { readonly: true, fileMustExist: true });
    try {
      return new Set((db.prepare('select request_id from predictions where project = ?').all(PROJECT) as { request_id: string }[]).map((r) => r.request_id));
    } finally {
      db.close();
    }
  };
  // Caught up once the count holds still for a few seconds.
  let last = -1;
  let still = 0;
  for (const deadline = Date.now() + 120_000; Date.now() < deadline; ) {
    const n = read().size;
    if (n === last && n >= atLeast) still++;
    else still = 0;
    if (still >= 3) break;
    last = n;
    await sleep(1000);
  }
  return read();
}

export type { Outcome };
