import assert from 'node:assert/strict';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { HISTOGRAM_DRIFT_APP } from '../../src/common/names.ts';
import type { InferenceEvent } from '../../src/common/types.ts';
import { windowStartOf } from '../../src/pipeline/worker.ts';
import type { Platform } from '../../src/project/platform.ts';
import type { Project } from '../../src/project/project.ts';
import { topics, type Stream } from '../../src/stream/port.ts';

/*
 * The scenario of the misbehaving-apps tests (embedded and `--role apps`, short here and long under
 * test/soak/): a good app deployed beside four bad ones — one throws, one never returns (a
 * synchronous endless loop), one returns invalid output, one keeps more memory every run — and the
 * built-in histogram-data-drift app, over closed one-minute windows of a few endpoints.
 */

export const APPS_MODULE = fileURLToPath(new URL('../fixtures/apps/misbehaving-apps.ts', import.meta.url));
export const PERIOD = 60_000;

/** How big a run of the scenario is. */
export interface Scenario {
  endpoints: number;
  windows: number;
  rowsPerWindow: number;
  /**
   * The endless-loop app's deadline while the others are deployed and run (long, so that they are
   * seen to do all their windows during its first run), then the one it is redeployed with to get
   * through its windows.
   */
  loopTimeoutSeconds: number;
  loopRedeployTimeoutSeconds: number;
  /** The leaking app's memory limit, and what it keeps per run. */
  leakLimitMb: number;
  leakMbPerRun: number;
}

/** A deployable app of the scenario, and the `mm-app-failed` message a bad one must get for a window. */
export interface ScenarioApp {
  name: string;
  className: string;
  options: Record<string, unknown>;
  reason?: (windowStart: number) => string;
}

/** The endless-loop app, first with its long deadline (`redeployed`: its short one); it notes each run it starts in `journal`. */
export function loopApp(s: Scenario, journal: string, redeployed = false): ScenarioApp {
  const timeoutSeconds = redeployed ? s.loopRedeployTimeoutSeconds : s.loopTimeoutSeconds;
  return { name: 'loops', className: 'LoopingApp', options: { timeoutSeconds, journal }, reason: () => `timed out after ${timeoutSeconds} s (its timeoutSeconds); the run was stopped` };
}

/** The apps other than the endless loop, the good one first. */
export function otherApps(s: Scenario): ScenarioApp[] {
  return [
    { name: 'good', className: 'GoodApp', options: {} },
    { name: 'throws', className: 'ThrowingApp', options: {}, reason: (w) => `threw: no baseline for window ${w}` },
    { name: 'invalid', className: 'InvalidOutputApp', options: {}, reason: () => 'returned invalid output: result name "drift score" must match [a-zA-Z_][a-zA-Z0-9_]*' },
    {
      name: 'leaks',
      className: 'LeakingApp',
      options: { memoryLimitMb: s.leakLimitMb, mbPerRun: s.leakMbPerRun },
      reason: () => `exceeded its memory limit of ${s.leakLimitMb} MB (its memoryLimitMb); the run was stopped`,
    },
  ];
}

/** Registers an app of the scenario (again: with its new options) and marks it deployed. */
export async function deploy(project: Project, app: ScenarioApp): Promise<void> {
  await project.setModelMonitoringFunction({ name: app.name, application: APPS_MODULE, className: app.className, options: app.options });
  await project.deployFunction(app.name, { wait: false });
}

/** The runs the endless-loop app started, from its journal. */
export function loopRuns(journal: string): { at: number; key: string }[] {
  if (!fs.existsSync(journal)) return [];
  return fs.readFileSync(journal, 'utf8').trim().split('\n').filter(Boolean).map((l) => {
    const [at, ep, w] = l.split(' ');
    return { at: Number(at), key: `${ep} ${w}` };
  });
}

/** A training set for the model: two features and the label. */
export function trainingSet(): { x0: number; x1: number; y: number }[] {
  return Array.from({ length: 500 }, (_, i) => ({ x0: (i % 50) / 5, x1: (i % 7) - 3, y: (i % 50) / 5 + 0.5 * ((i % 7) - 3) }));
}

/** Start of the first window: `windows` whole windows that closed more than a minute before `now`. */
export function firstWindow(s: Scenario, now: number): number {
  return windowStartOf(now, PERIOD) - (s.windows + 1) * PERIOD;
}

/** Rows stored so far of the scenario's windows. */
export async function storedRows(platform: Platform, project: string, s: Scenario, base: number): Promise<number> {
  const tsdb = await platform.tsdbFor(project);
  const ids = Array.from({ length: s.endpoints }, (_, e) => `ep-${e}`);
  const counts = await tsdb.countPredictionsByEndpoint(project, ids, { start: base, end: base + s.windows * PERIOD });
  return [...counts.values()].reduce((a, b) => a + b, 0);
}

/** One-row events, `rowsPerWindow` per endpoint and window, published to the project's stream. */
export async function publishWindows(stream: Stream, project: string, modelUri: string, s: Scenario, base: number): Promise<void> {
  const events: InferenceEvent[] = [];
  for (let w = 0; w < s.windows; w++) {
    for (let e = 0; e < s.endpoints; e++) {
      for (let i = 0; i < s.rowsPerWindow; i++) {
        const x0 = (i % 50) / 5;
        const x1 = (i % 7) - 3;
        events.push({
          v: 1,
          endpointId: `ep-${e}`,
          project,
          function: 'serving',
          model: 'linear',
          modelUri,
          when: new Date(base + w * PERIOD + Math.floor((i * PERIOD) / (s.rowsPerWindow + 1))).toISOString(),
          latencyUs: 500,
          request: { id: `r-${e}-${w}-${i}`, inputs: [[x0, x1]] },
          response: { outputs: [x0 + 0.5 * x1] },
        });
      }
    }
  }
  for (let i = 0; i < events.length; i += 2000) {
    await stream.publish(topics.events(project), events.slice(i, i + 2000).map((e) => ({ key: e.endpointId, value: JSON.stringify(e) })));
  }
}

/** What the apps have written so far, per app: the windows with output and the failure messages per window. */
export interface Outcome {
  /** `endpoint window` keys of every window of the scenario. */
  windows: string[];
  /** Per app: windows with output (the good app: its row count there). */
  outputs: Map<string, Map<string, number>>;
  /** Per app: the failure messages per window. */
  failures: Map<string, Map<string, Set<string>>>;

}

export async function outcome(project: Project, s: Scenario, base: number): Promise<Outcome> {
  const windows: string[] = [];
  for (let e = 0; e < s.endpoints; e++) for (let w = 0; w < s.windows; w++) windows.push(`ep-${e} ${base + w * PERIOD}`);
  const outputs = new Map<string, Map<string, number>>();
  const put = (app: string, key: string, v: number): void => void (outputs.get(app) ?? outputs.set(app, new Map()).get(app)!).set(key, v);
  const rows = await project.listMetrics({ app: 'good', name: 'rows' });
  for (const m of rows) put('good', `${m.endpointId} ${m.windowStart}`, m.value);
  for (const m of await project.listMetrics({ app: 'leaks', name: 'kept' })) put('leaks', `${m.endpointId} ${m.windowStart}`, m.value);
  for (const r of await project.listResults({ app: HISTOGRAM_DRIFT_APP, name: 'general_drift' })) put(HISTOGRAM_DRIFT_APP, `${r.endpointId} ${r.windowStart}`, r.value);
  const failures = new Map<string, Map<string, Set<string>>>();
  const events = await project.listEvents({ kind: 'mm-app-failed' });
  for (const ev of events) {
    const byWindow = failures.get(ev.app) ?? failures.set(ev.app, new Map()).get(ev.app)!;
    const key = `${ev.endpointId} ${ev.windowStart}`;
    (byWindow.get(key) ?? byWindow.set(key, new Set()).get(key)!).add(ev.message);
  }
  return {
    windows,
    outputs,
    failures,
  };
}

/** Whether every window has been dealt with (output or failure) by each of `apps`. */
export function complete(o: Outcome, apps: readonly string[] = ['good', HISTOGRAM_DRIFT_APP, 'throws', 'loops', 'invalid', 'leaks']): boolean {
  const dealt = (app: string, k: string): boolean => o.outputs.get(app)?.has(k) === true || (o.failures.get(app)?.get(k)?.size ?? 0) > 0;
  return o.windows.every((k) => apps.every((app) => dealt(app, k)));
}

/** The scenario's claims on a complete outcome: output from the good apps for every window, from the bad ones each its failure. */
export function check(o: Outcome, s: Scenario, journal: string): void {
  const bad = [...otherApps(s), loopApp(s, journal, true)].filter((a) => a.reason && a.name !== 'leaks');
  for (const k of o.windows) {
    assert.equal(o.outputs.get('good')?.get(k), s.rowsPerWindow, `the good app's row count for ${k}`);
    assert.ok(o.outputs.get(HISTOGRAM_DRIFT_APP)?.has(k), `general_drift for ${k}`);
    assert.equal(o.failures.get('good')?.get(k), undefined, `the good app never failed on ${k}`);
    assert.equal(o.failures.get(HISTOGRAM_DRIFT_APP)?.get(k), undefined, `histogram-data-drift never failed on ${k}`);
    const windowStart = Number(k.split(' ')[1]);
    for (const app of bad) {
      assert.deepEqual([...(o.failures.get(app.name)?.get(k) ?? [])], [app.reason!(windowStart)], `${app.name} on ${k}`);
      assert.equal(o.outputs.get(app.name)?.has(k) ?? false, false, `${app.name} has no output for ${k}`);
    }
    // The leaking app works until its heap is full: each window has its output or the memory failure.
    const leak = otherApps(s).find((a) => a.name === 'leaks')!;
    const leakFailures = [...(o.failures.get('leaks')?.get(k) ?? [])];
    assert.ok(o.outputs.get('leaks')?.has(k) || leakFailures.length > 0, `leaks dealt with ${k}`);
    for (const m of leakFailures) assert.equal(m, leak.reason!(windowStart), `leaks on ${k}`);
  }
  assert.ok((o.failures.get('leaks')?.size ?? 0) >= 1, 'the leaking app hit its memory limit at least once');
}

/**
 * The endless loop holds up no other app: the good app, handed its windows after the loop app had
 * started the run `loopRun`, was seen (at `doneAt`) to have analyzed all of them before that run's
 * deadline, which had not passed.
 */
export function checkNotHeldUp(o: Outcome, s: Scenario, loopRun: { at: number }, doneAt: number): void {
  assert.equal(o.failures.get('loops'), undefined, 'the endless loop has not reached a deadline yet');
  const into = doneAt - loopRun.at;
  assert.ok(into > 0 && into < s.loopTimeoutSeconds * 1000, `the good app was done ${into} ms into the loop's run of ${s.loopTimeoutSeconds} s`);
}

/** Peak and current resident memory of a process, in MB (Linux). */
export function memoryOf(pid: number): { peakMb: number; rssMb: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { peakMb: kb('VmHWM') / 1024, rssMb: kb('VmRSS') / 1024 };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
