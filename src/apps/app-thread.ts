import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '../common/errors.ts';
import { loadApplication } from './app-loader.ts';
import { appReason, failure, normalized, type AppThreadInit, type FromAppThread, type RunOutcome, type ToAppThread } from './app-run.ts';
import type { MonitoringApplication } from './base.ts';
import type { ReferenceData } from './context.ts';
import { contextFromData, type ContextData } from './context-builder.ts';

/*
 * The thread a monitoring application runs in (started by app-host.ts): loads the app, then runs
 * it on each window it is handed and answers the validated output or why the run failed. Its
 * deadline and heap limit are enforced from outside; buffers, which lie outside the heap, are
 * checked here after each run.
 */

const port = parentPort!;
const init = workerData as AppThreadInit;
const MB = 1024 * 1024;

function post(m: FromAppThread): void {
  port.postMessage(m);
}

/** The training sets this thread holds, by model URI, with their version. */
const held = new Map<string, { version: string; data: ReferenceData | undefined }>();
const asked = new Map<number, (answer: Extract<ToAppThread, { type: 'reference' }>) => void>();
let nextAsk = 1;

/** A training set, asked of the calling thread, which sends its rows only when the held copy is out of date. */
async function trainingSet(modelUri: string): Promise<ReferenceData | undefined> {
  const mine = held.get(modelUri);
  const id = nextAsk++;
  const answer = await new Promise<Extract<ToAppThread, { type: 'reference' }>>((resolve) => {
    asked.set(id, resolve);
    post({ type: 'reference', id, modelUri, ...(mine ? { version: mine.version } : {}) });
  });
  if (answer.error !== undefined) throw new Error(answer.error);
  if (answer.version === undefined) {
    held.delete(modelUri);
    return undefined;
  }
  if (answer.data === undefined && mine?.version === answer.version) return mine.data;
  held.set(modelUri, { version: answer.version, data: answer.data });
  return answer.data;
}

function log(data: ContextData): (level: 'info' | 'warn' | 'error', msg: string, extra: Record<string, unknown> | undefined) => void {
  return (level, msg, extra) => {
    const line = { type: 'log', level, msg: String(msg), endpoint: data.endpoint.id, startMs: data.startMs } as const;
    try {
      post(extra === undefined ? line : { ...line, data: extra });
    } catch {
      // Data that cannot be copied (functions, say) is logged as JSON would show it.
      post({ ...line, data: { data: jsonSafe(extra) } });
    }
  };
}

function jsonSafe(v: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(v) ?? 'null');
  } catch (err) {
    return `(not shown: ${errorMessage(err)})`;
  }
}

async function run(app: MonitoringApplication, id: number, data: ContextData): Promise<void> {
  const ctx = contextFromData(data, { artifactPath: init.artifactPath, log: log(data), trainingSet });
  let outcome: RunOutcome;
  try {
    outcome = normalized(init.appName, await app.doTracking(ctx));
  } catch (err) {
    outcome = { ok: false, error: failure.threw(appReason(init.appName, errorMessage(err))) };
  }
  const buffers = getHeapStatistics().external_memory / MB;
  if (buffers > init.memoryLimitMb) {
    post({ type: 'failed', id, error: failure.memory(init.memoryLimitMb, `: it held ${Math.round(buffers)} MB of buffers after the run`), memory: true });
    return;
  }
  if (!outcome.ok) return post({ type: 'failed', id, error: outcome.error });
  try {
    post({ type: 'done', id, results: outcome.results, metrics: outcome.metrics });
  } catch {
    // extraData holding what cannot be copied (functions, class instances) is kept as JSON keeps it.
    const results = jsonSafe(outcome.results);
    if (Array.isArray(results)) post({ type: 'done', id, results, metrics: outcome.metrics });
    else post({ type: 'failed', id, error: failure.invalidOutput(`extraData cannot be stored as JSON (${String(results)})`) });
  }
}

async function main(): Promise<void> {
  let app: MonitoringApplication;
  try {
    app = await loadApplication(init.appName, init.source, init.options);
  } catch (err) {
    const e = err as { code?: unknown; details?: unknown };
    const failed = { type: 'load-failed', code: typeof e.code === 'string' ? e.code : undefined, message: errorMessage(err) } as const;
    try {
      post(e.details && typeof e.details === 'object' ? { ...failed, details: e.details as Record<string, unknown> } : failed);
    } catch {
      post(failed);
    }
    return;
  }
  port.on('message', (m: ToAppThread) => {
    if (m.type === 'reference') {
      asked.get(m.id)?.(m);
      asked.delete(m.id);
      return;
    }
    void run(app, m.id, m.data);
  });
  post({ type: 'ready', usesSample: app.usesSample !== false });
}

void main();
