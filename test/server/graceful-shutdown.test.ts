import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'undici';
import { endpointId } from '../../src/common/ids.ts';
import { StreamProcessor } from '../../src/pipeline/stream-processor/stream-processor.ts';
import { Modelwatch } from '../../src/project/modelwatch.ts';
import type { Platform } from '../../src/project/platform.ts';
import { Project } from '../../src/project/project.ts';
import { CLI, childEnv, openPlatform, tempHome, waitFor } from './helpers.ts';

/*
 * SIGTERM under load: a serving function stops accepting, answers every request already sent,
 * flushes their tracking events, then exits. Each client below keeps one keep-alive connection
 * and sends its next request as soon as the last is answered, so at the signal some requests are
 * being scored and others are on their way over connections the server sees as idle.
 */

// Scores in 5-30 ms (1 ms of it on the CPU), so that requests are in flight when the signal comes.
const MODEL = `export class SlowSum {
  async predict(rows) {
    const busy = Date.now() + 1;
    while (Date.now() < busy);
    await new Promise((r) => setTimeout(r, 5 + Math.floor(Math.random() * 25)));
    return rows.map((r) => r[0] + r[1]);
  }
}
`;

interface Sent {
  id: string;
  at: number;
  /** What the model answers. */
  expected: number;
  /** When the answer (or the error) came. */
  doneAt?: number;
  status?: number;
  outputs?: unknown;
  error?: string;
}

/** `clients` connections sending requests back to back until `stop()`; every request is recorded. */
function load(url: string, clients: number): { sent: Sent[]; stop: () => Promise<void> } {
  const sent: Sent[] = [];
  let stopping = false;
  let n = 0;
  const loops = Array.from({ length: clients }, async (_, c) => {
    const client = new Client(url, { pipelining: 1 });
    try {
      while (!stopping) {
        const k = n++;
        const s: Sent = { id: `req-${k}`, at: performance.now(), expected: k + c };
        sent.push(s);
        try {
          const res = await client.request({
            path: '/v2/models/sum/infer',
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ id: s.id, inputs: [[k, c]] }),
          });
          s.status = res.statusCode;
          s.outputs = ((await res.body.json()) as { outputs?: { data: unknown[] }[] }).outputs?.[0]?.data;
          s.doneAt = performance.now();
        } catch (err) {
          s.error = (err as { code?: string }).code ?? (err as Error).message;
          s.doneAt = performance.now();
          await sleep(5); // refused once the server has stopped listening: try again until told to stop
        }
      }
    } finally {
      await client.destroy();
    }
  });
  return {
    sent,
    stop: async () => {
      stopping = true;
      await Promise.all(loops);
    },
  };
}

/** Ingests what the stream holds and returns the request ids stored for the endpoint among `ids`. */
async function storedIds(platform: Platform, project: string, endpoint: string, ids: string[]): Promise<Set<string>> {
  const sp = new StreamProcessor(platform, project);
  try {
    for (let i = 0; i < 1000 && (await sp.step()) > 0; i++);
  } finally {
    await sp.close();
  }
  const tsdb = await platform.tsdbFor(project);
  return new Set((await tsdb.readPredictionsByRequest(project, endpoint, ids)).map((r) => r.requestId));
}

const fullAnswer = (s: Sent): boolean => s.status === 200 && Array.isArray(s.outputs) && s.outputs.length === 1 && s.outputs[0] === s.expected;

/**
 * The requests sent before `signalAt`, after checking that every one got its full answer, and that
 * every request at all got either its full answer or a refused connection once the server stopped
 * accepting: none was reset, cut short or answered 503.
 */
function checkAnswered(sent: Sent[], signalAt: number): Sent[] {
  const before = sent.filter((s) => s.at < signalAt);
  const failed = before.filter((s) => !fullAnswer(s));
  assert.deepEqual(failed.slice(0, 5), [], `${failed.length} of ${before.length} requests sent before the signal got no full answer`);
  const broken = sent.filter((s) => !fullAnswer(s) && s.error !== 'ECONNREFUSED');
  assert.deepEqual(broken.slice(0, 5), [], `${broken.length} of ${sent.length} requests were neither answered nor refused a connection`);
  return before;
}

describe('graceful shutdown of a serving function under load', { timeout: 120_000 }, () => {
  let cleanup: (() => Promise<void>) | undefined;
  let child: ChildProcess | undefined;

  after(async () => {
    child?.kill('SIGKILL');
    await cleanup?.();
  });

  it('modelwatch worker: on SIGTERM every request sent before it is answered, every answered one is stored, and the worker exits 0 within the deadline', async () => {
    const t = await tempHome('mw-graceful-');
    cleanup = t.cleanup;
    const code = path.join(t.home, '..', `${path.basename(t.home)}-code`);
    await fs.mkdir(code);
    const home = path.join(t.home, 'home');
    const cleanHome = cleanup;
    cleanup = async () => {
      await cleanHome();
      await fs.rm(code, { recursive: true, force: true });
    };
    await fs.writeFile(path.join(code, 'slow-sum.mjs'), MODEL);

    const platform = await openPlatform(home);
    try {
      await platform.store.createProject({ name: 'p', description: '', labels: {}, monitoring: null, createdAt: Date.now() });
      const project = new Project('p', platform);
      const fn = await project.setFunction('serving');
      fn.addModel('sum', { modelPath: path.join(code, 'slow-sum.mjs'), className: 'SlowSum' }).setTracking();
      await project.deployFunction(fn, { wait: false });

      // The worker loads code from its working folder, where the model module is.
      child = spawn(process.execPath, [...CLI, 'worker', '--project', 'p', '--function', 'serving', '--home', home, '--shutdown-timeout-seconds', '5'], {
        cwd: code,
        env: childEnv(),
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
      const address = await waitFor('the serving worker to run', async () => {
        const f = await platform.store.getFunction('p', 'serving');
        return f?.status.state === 'running' && f.status.address ? f.status.address : undefined;
      }, 60_000);

      const traffic = load(address, 32);
      await waitFor('200 answers', async () => (traffic.sent.filter((x) => x.status === 200).length >= 200 ? true : undefined), 60_000, 20);
      const signalAt = performance.now();
      child.kill('SIGTERM');
      const [exitCode] = await exited;
      const tookMs = performance.now() - signalAt;
      child = undefined;
      await traffic.stop();
      assert.equal(exitCode, 0, stderr);
      assert.ok(tookMs < 5000 + 3000, `exited ${Math.round(tookMs)} ms after the signal (deadline 5 s)`);

      const before = checkAnswered(traffic.sent, signalAt);
      const inFlight = before.filter((x) => x.doneAt! > signalAt).length;
      assert.ok(inFlight >= 8, `${inFlight} requests were in flight at the signal`);
      const answered = traffic.sent.filter((x) => x.status === 200);

      const stored = await storedIds(platform, 'p', endpointId({ project: 'p', function: 'serving', model: 'sum' }), answered.map((s) => s.id));
      const missing = answered.filter((s) => !stored.has(s.id)).map((s) => s.id);
      assert.deepEqual(missing.slice(0, 10), [], `${missing.length} of ${answered.length} answered requests have no stored event`);
    } finally {
      await platform.close();
    }
  });

  it('embedded Modelwatch.close(): the serving function answers the requests in flight and flushes their events before it closes', async () => {
    const t = await tempHome('mw-graceful-embedded-');
    const mw = await Modelwatch.open({ home: t.home, logLevel: 'silent' });
    let closed = false;
    let scoring = 0;
    try {
      const project = await mw.createProject('p');
      const fn = await project.setFunction('serving');
      fn.addModel('sum', {
        model: {
          async predict(rows: unknown[][]) {
            scoring++;
            await sleep(300);
            return rows.map((r) => (r[0] as number) + (r[1] as number));
          },
        },
      }).setTracking();
      await project.deployFunction(fn);
      const address = (await project.getFunction('serving')).status.address!;
      const clients = Array.from({ length: 8 }, () => new Client(address));
      const answers = clients.map((client, i) =>
        client
          .request({ path: '/v2/models/sum/infer', method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: `e-${i}`, inputs: [[i, 1]] }) })
          .then(async (r) => ({ status: r.statusCode, body: (await r.body.json()) as { outputs: { data: number[] }[] } })),
      );
      // Closed while all eight are being scored.
      await waitFor('the requests to reach the model', async () => (scoring === 8 ? true : undefined), 10_000, 5);
      await mw.close({ deadlineMs: 5000 });
      closed = true;
      const got = await Promise.all(answers);
      assert.deepEqual(got.map((g) => [g.status, g.body.outputs[0]!.data[0]]), clients.map((_, i) => [200, i + 1]));
      await Promise.all(clients.map((c) => c.destroy()));
    } finally {
      if (!closed) await mw.close();
    }
    const platform = await openPlatform(t.home);
    try {
      const ids = Array.from({ length: 8 }, (_, i) => `e-${i}`);
      const stored = await storedIds(platform, 'p', endpointId({ project: 'p', function: 'serving', model: 'sum' }), ids);
      assert.deepEqual([...stored].sort(), ids);
    } finally {
      await platform.close();
      await t.cleanup();
    }
  });
});
