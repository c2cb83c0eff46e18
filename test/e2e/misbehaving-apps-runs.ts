import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import pino from 'pino';
import { ManualClock } from '../../src/common/clock.ts';
import { nodeArgs } from '../../src/common/module-url.ts';
import { Controller } from '../../src/pipeline/controller/controller.ts';
import { StreamProcessor } from '../../src/pipeline/stream-processor/stream-processor.ts';
import { runLoop } from '../../src/pipeline/worker.ts';
import { Writer } from '../../src/pipeline/writer/writer.ts';
import { Modelwatch } from '../../src/project/modelwatch.ts';
import { Platform } from '../../src/project/platform.ts';
import { Project } from '../../src/project/project.ts';
import {
  check,
  checkNotHeldUp,
  complete,
  deploy,
  firstWindow,
  loopApp,
  loopRuns,
  memoryOf,
  otherApps,
  outcome,
  PERIOD,
  publishWindows,
  sleep,
  storedRows,
  trainingSet,
  type Outcome,
  type Scenario,
} from './misbehaving-apps.ts';

/*
 * The two runs of the misbehaving-apps scenario (see misbehaving-apps.ts), shared by the short
 * tests (test/e2e) and the long ones (test/soak). The test says when the controller hands windows
 * out, so that the order is known:
 * 1. the endless-loop app is deployed alone, with a long deadline, and starts looping on a window;
 * 2. the other apps are deployed and handed the windows: the good ones analyze all of them during
 *    that one run of the loop;
 * 3. the loop app is redeployed with a short deadline (its run in flight is stopped, not recorded,
 *    and its window handed to it again), and every bad app fails every window with its reason.
 */

const PROJECT = 'bad-apps';
const CLI = nodeArgs(new URL('../../src/cli/main.ts', import.meta.url));

/** Polls `ok` every 250 ms; fails after `ms` with `diagnostics()`. */
async function waitFor(what: string, ok: () => Promise<boolean> | boolean, ms: number, diagnostics: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what}\n${diagnostics()}`);
    await sleep(250);
  }
}

function describeOutcome(o: Outcome): string {
  const apps = [...new Set([...o.outputs.keys(), ...o.failures.keys()])].sort();
  return apps.map((a) => `${a}: ${o.outputs.get(a)?.size ?? 0} outputs, failures ${JSON.stringify([...(o.failures.get(a)?.entries() ?? [])].map(([k, v]) => [k, [...v]]))}`).join('\n');
}

interface Run {
  t: TestContext;
  s: Scenario;
  project: Project;
  platform: Platform;
  base: number;
  journal: string;
  /** Has the controller hand out the closed windows (to the apps that have not had them). */
  tick: () => Promise<void>;
  diagnostics: () => string;
}

/** Phase 1: the loop app alone, handed the windows once they are stored. */
async function loopAlone(r: Run, modelUri: string): Promise<void> {
  await deploy(r.project, loopApp(r.s, r.journal));
  await publishWindows(await r.platform.streamFor(PROJECT), PROJECT, modelUri, r.s, r.base);
  const rows = r.s.endpoints * r.s.windows * r.s.rowsPerWindow;
  await waitFor(`${rows} rows stored`, async () => (await storedRows(r.platform, PROJECT, r.s, r.base)) === rows, 60_000, r.diagnostics);
  await r.tick();
  await waitFor('the endless loop to start a run', () => loopRuns(r.journal).length > 0, 90_000, r.diagnostics);
}

/** Phases 2 and 3. */
async function othersThenRedeploy(r: Run): Promise<Outcome> {
  const { t, s, project, journal } = r;
  const runs = loopRuns(journal);
  const loopRun = runs[runs.length - 1]!;
  for (const app of otherApps(s)) await deploy(project, app);
  await r.tick();
  const current = (): Promise<Outcome> => outcome(project, s, r.base);
  let o = await current();
  await waitFor('the good app to analyze every window', async () => complete((o = await current()), ['good']), s.loopTimeoutSeconds * 1000 + 30_000, () => `${describeOutcome(o)}\n${r.diagnostics()}`);
  const doneAt = Date.now();
  t.diagnostic(`the good app analyzed its ${o.windows.length} windows by ${doneAt - loopRun.at} ms into the endless loop's run`);
  checkNotHeldUp(o, s, loopRun, doneAt);

  await deploy(project, loopApp(s, journal, true));
  await waitFor('every app to deal with every window', async () => complete((o = await current())), (s.endpoints * s.windows * (s.loopRedeployTimeoutSeconds + 5) + 60) * 1000, () => `${describeOutcome(o)}\n${r.diagnostics()}`);
  // Late duplicates (a window delivered twice) would show up now.
  await sleep(1500);
  o = await current();
  check(o, s, journal);
  // The run stopped by the redeploy was not recorded as a failure, and its window was run again.
  assert.ok(loopRuns(journal).slice(runs.length).some((x) => x.key === loopRun.key), `the interrupted window ${loopRun.key} was run again`);
  return o;
}

/**
 * The scenario in embedded mode: every app deployed in this process, each module-file app in a
 * thread of its own, the functions looping on their own; a manual clock says when windows close.
 */
export async function runMisbehavingAppsEmbedded(t: TestContext, s: Scenario, limits: { maxPeakMb: number }): Promise<void> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-bad-apps-'));
  const journal = path.join(home, 'loop.journal');
  const base = firstWindow(s, Date.UTC(2026, 4, 1, 12, 0));
  const clock = new ManualClock(base + (s.windows + 1) * PERIOD);
  const mw = await Modelwatch.open({ home, clock, background: true, logger: pino({ level: 'silent' }) });
  try {
    const project = await mw.createProject(PROJECT);
    const model = await project.logModel('linear', { model: { weights: [1, 0.5] }, trainingSet: trainingSet(), labelColumn: 'y' });
    await project.enableModelMonitoring({ basePeriod: 1, graceSeconds: 5 });
    // The controller ticks once the clock passes its next closing.
    const tick = async (): Promise<void> => void clock.advance(PERIOD);
    const run: Run = { t, s, project, platform: mw.platform, base, journal, tick, diagnostics: () => '' };
    await loopAlone(run, model.uri);
    await othersThenRedeploy(run);
    const mem = memoryOf(process.pid);
    t.diagnostic(`this process: peak ${Math.round(mem.peakMb)} MB, now ${Math.round(mem.rssMb)} MB`);
    assert.ok(mem.peakMb < limits.maxPeakMb, `peak ${mem.peakMb} MB < ${limits.maxPeakMb} MB`);
  } finally {
    const t0 = performance.now();
    await mw.close();
    t.diagnostic(`closed in ${Math.round(performance.now() - t0)} ms`);
    fs.rmSync(home, { recursive: true, force: true });
  }
}

/** A `modelwatch worker --role apps` child process, its output in a log file. */
class AppsProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  exitCode: number | null | undefined;

  constructor(
    readonly name: string,
    readonly log: string,
    home: string,
  ) {
    const fd = fs.openSync(log, 'a');
    const env: NodeJS.ProcessEnv = { ...process.env, MODELWATCH_LOG_LEVEL: 'info' };
    delete env.NODE_TEST_CONTEXT;
    this.child = spawn(process.execPath, [...CLI, '--home', home, 'worker', '--project', PROJECT, '--role', 'apps', '--refresh-seconds', '1'], { stdio: ['ignore', fd, fd], env });
    fs.closeSync(fd);
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve((this.exitCode = code))));
  }

  get pid(): number {
    return this.child.pid!;
  }

  tail(lines = 20): string {
    const text = fs.existsSync(this.log) ? fs.readFileSync(this.log, 'utf8').trim().split('\n').slice(-lines).join('\n') : '';
    return `--- ${this.name} (pid ${this.pid}, exit ${String(this.exitCode)})\n${text}`;
  }

  /** SIGTERM; the exit code and how long it took. */
  async stop(): Promise<{ code: number | null; ms: number }> {
    const t0 = performance.now();
    this.child.kill('SIGTERM');
    const kill = setTimeout(() => this.child.kill('SIGKILL'), 60_000);
    const code = await this.exited;
    clearTimeout(kill);
    return { code, ms: performance.now() - t0 };
  }
}

/**
 * The scenario with the apps in `modelwatch worker --role apps` processes; the stream processor
 * and writer loop in this one, whose controller ticks when the test says. A first apps process is
 * stopped (SIGTERM) while the endless loop runs: it must exit at once, without recording that run.
 * A second one runs the rest.
 */
export async function runMisbehavingAppsProcess(t: TestContext, s: Scenario, limits: { maxPeakMb: number }): Promise<void> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-bad-apps-proc-'));
  const journal = path.join(home, 'loop.journal');
  const logger = pino({ level: 'silent' });
  const platform = await Platform.open({ home, logger });
  const stop = new AbortController();
  const children: AppsProcess[] = [];
  const diagnostics = (): string => children.map((c) => c.tail()).join('\n');
  let infra: Promise<void>[] = [];
  try {
    await platform.store.createProject({ name: PROJECT, description: '', labels: {}, monitoring: null, createdAt: Date.now() });
    const project = new Project(PROJECT, platform);
    const model = await project.logModel('linear', { model: { weights: [1, 0.5] }, trainingSet: trainingSet(), labelColumn: 'y' });
    await project.enableModelMonitoring({ basePeriod: 1, graceSeconds: 5 });
    infra = [new StreamProcessor(platform, PROJECT), new Writer(platform, PROJECT)].map((w) => runLoop(w, stop.signal, logger, 200));
    // A controller's first tick hands out every closed window the apps have not had; one holder, so that each takes the lease.
    const tick = async (): Promise<void> => {
      await waitFor('the controller to hand windows out', async () => (await new Controller(platform, PROJECT, { holder: 'misbehaving-apps-test' }).step()) > 0, 60_000, diagnostics);
    };
    const run: Run = { t, s, project, platform, base: firstWindow(s, Date.now()), journal, tick, diagnostics };

    // ---- a first apps process, stopped while the endless loop runs
    const first = new AppsProcess('apps-1', path.join(home, 'apps-1.log'), home);
    children.push(first);
    await loopAlone(run, model.uri);
    await sleep(500);
    const stopped = await first.stop();
    t.diagnostic(`the first apps process exited ${stopped.code} ${Math.round(stopped.ms)} ms after SIGTERM, its endless loop running`);
    assert.equal(stopped.code, 0, diagnostics());
    assert.ok(stopped.ms < s.loopTimeoutSeconds * 1000, `it exited in ${Math.round(stopped.ms)} ms, before the loop's deadline of ${s.loopTimeoutSeconds} s`);

    // ---- a second one takes the windows over and runs every app
    const second = new AppsProcess('apps-2', path.join(home, 'apps-2.log'), home);
    children.push(second);
    await waitFor('the endless loop to start its window again', () => loopRuns(journal).length > 1, 90_000, diagnostics);
    const runs = loopRuns(journal);
    assert.equal(runs[1]!.key, runs[0]!.key, 'the window stopped with the first process is run again');
    await othersThenRedeploy(run);
    assert.equal(second.exitCode, undefined, `the apps process is alive\n${diagnostics()}`);
    const mem = memoryOf(second.pid);
    t.diagnostic(`the apps process: peak ${Math.round(mem.peakMb)} MB, now ${Math.round(mem.rssMb)} MB`);
    assert.ok(mem.peakMb < limits.maxPeakMb, `peak ${mem.peakMb} MB < ${limits.maxPeakMb} MB`);
    const end = await second.stop();
    assert.equal(end.code, 0, diagnostics());
  } finally {
    for (const c of children) if (c.exitCode === undefined) c.child.kill('SIGKILL');
    stop.abort();
    await Promise.all(infra);
    await platform.close();
    fs.rmSync(home, { recursive: true, force: true });
  }
}
