import { ValidationError } from '../common/errors.ts';
import { resolveDataFile, type CodeRoots } from '../common/code-roots.ts';
import { CONTROLLER_FUNCTION, DATA_DRIFT_REPORT_APP, STREAM_FUNCTION, WRITER_FUNCTION } from '../common/names.ts';
import { inProcessHost, startAppThread, type AppHost } from '../apps/app-host.ts';
import { construct } from '../apps/app-loader.ts';
import { isApplicationClass, type MonitoringApplication, type MonitoringApplicationClass } from '../apps/base.ts';
import { appOptions, runLimits } from '../apps/run-limits.ts';
import { ApplicationRunner } from '../apps/runner.ts';
import { Controller } from '../pipeline/controller/controller.ts';
import { StreamProcessor } from '../pipeline/stream-processor/stream-processor.ts';
import { runLoop, type Worker } from '../pipeline/worker.ts';
import { Writer } from '../pipeline/writer/writer.ts';
import type { FunctionRecord } from '../store/port.ts';
import { failedStatus } from './deploy-state.ts';
import type { Platform } from './platform.ts';
import { ServingWorker, type InProcessModels } from './serving-worker.ts';

/** What a monitoring-application function's spec keeps. */
export interface ApplicationSpec {
  /** A built-in app's name (`histogram-data-drift`, `data-drift-report`). */
  builtin?: string;
  /** Module file exporting the app class. */
  application?: string;
  className?: string;
  options?: Record<string, unknown>;
  /** Embedded mode: the class was passed directly. */
  inProcess?: boolean;
}

/** Classes and instances handed over in embedded mode, keyed by `project/function[/model]`. */
export interface InProcessRegistry {
  apps: Map<string, MonitoringApplication | MonitoringApplicationClass>;
  models: Map<string, InProcessModels>;
}

export function newRegistry(): InProcessRegistry {
  return { apps: new Map(), models: new Map() };
}

/** Builds the worker that runs a deployed function; a serving one tries `servingPort` first where its spec names no port. */
export async function createWorker(platform: Platform, fn: FunctionRecord, registry: InProcessRegistry = newRegistry(), servingPort?: number): Promise<Worker> {
  if (fn.kind === 'infrastructure') {
    if (fn.name === STREAM_FUNCTION) return new StreamProcessor(platform, fn.project);
    if (fn.name === CONTROLLER_FUNCTION) return new Controller(platform, fn.project);
    if (fn.name === WRITER_FUNCTION) return new Writer(platform, fn.project);
    throw new Error(`unknown infrastructure function '${fn.name}'`);
  }
  if (fn.kind === 'serving') {
    const w = new ServingWorker(platform, fn, registry.models.get(`${fn.project}/${fn.name}`), servingPort);
    await w.start();
    return w;
  }
  const given = fn.spec as ApplicationSpec;
  const spec = platform.codeRoots ? { ...given, options: await serverAppOptions(platform, given) } : given;
  const host = await appHost(platform, fn, spec, registry, platform.codeRoots);
  return new ApplicationRunner(platform, fn.project, fn.name, host, { options: appOptions(spec.options) });
}

/**
 * A server reads data files for its API clients only from the artifact path: the data-drift-report
 * app's `referencePath` is resolved there (relative paths too) and refused elsewhere.
 */
async function serverAppOptions(platform: Platform, spec: ApplicationSpec): Promise<Record<string, unknown>> {
  const options = spec.options ?? {};
  if (spec.builtin !== DATA_DRIFT_REPORT_APP || options.referencePath === undefined) return options;
  if (typeof options.referencePath !== 'string') throw new ValidationError('referencePath must be a path');
  return { ...options, referencePath: await resolveDataFile('referencePath', options.referencePath, platform.options) };
}

/**
 * Where the app runs (see app-host.ts): a built-in or a module file in a thread of its own, within
 * its run limits; a class or instance handed over in embedded mode in this process.
 */
async function appHost(platform: Platform, fn: FunctionRecord, spec: ApplicationSpec, registry: InProcessRegistry, codeRoots: CodeRoots | undefined): Promise<AppHost> {
  const options = appOptions(spec.options);
  const common = { appName: fn.name, artifactPath: platform.options.artifactPath, logger: platform.logger, limits: runLimits(spec.options) };
  if (spec.builtin !== undefined) return startAppThread({ ...common, source: { builtin: spec.builtin }, options });
  const given = registry.apps.get(`${fn.project}/${fn.name}`);
  if (given) return inProcessHost(isApplicationClass(given) ? construct(fn.name, () => new given(options)) : given, common);
  if (spec.inProcess) throw new ValidationError(`application '${fn.name}' was given as an in-process class; run it from the same process or name its module`);
  if (!spec.application) throw new ValidationError(`application '${fn.name}' names no module`);
  // The real path is what is judged and then imported.
  const file = codeRoots ? await codeRoots.resolveFile('application', spec.application) : spec.application;
  return startAppThread({ ...common, source: { module: file, as: spec.application, ...(spec.className ? { className: spec.className } : {}) }, options });
}

interface Running {
  worker: Worker;
  abort: AbortController;
  loop: Promise<void> | undefined;
}

/**
 * Runs deployed functions inside this process (embedded mode). With `background` the workers
 * loop on their own; without it they move only when {@link InProcessRuntime.runUntilIdle} is
 * called, which tests and the demo use together with a manual clock.
 */
export class InProcessRuntime {
  private readonly running = new Map<string, Running>();

  constructor(
    private readonly platform: Platform,
    readonly registry: InProcessRegistry,
    private readonly background: boolean,
  ) {}

  async deploy(fn: FunctionRecord): Promise<void> {
    await this.undeploy(fn.project, fn.name);
    try {
      const worker = serialized(await createWorker(this.platform, fn, this.registry));
      const abort = new AbortController();
      const loop = this.background && fn.kind !== 'serving' ? runLoop(worker, abort.signal, this.platform.logger, fn.name === CONTROLLER_FUNCTION ? 1000 : 100) : undefined;
      this.running.set(key(fn.project, fn.name), { worker, abort, loop });
      if (fn.kind !== 'serving') await this.platform.store.updateFunctionStatus(fn.project, fn.name, { state: 'running', pid: process.pid, version: fn.updatedAt });
    } catch (err) {
      await this.platform.store.updateFunctionStatus(fn.project, fn.name, failedStatus(err, fn.updatedAt));
      throw err;
    }
  }

  /** Stops a function running here; a serving function answers its requests in flight within `deadlineMs` (default 10 s). */
  async undeploy(project: string, name: string, opts: { deadlineMs?: number } = {}): Promise<void> {
    const r = this.running.get(key(project, name));
    if (!r) return;
    this.running.delete(key(project, name));
    r.abort.abort();
    // An app in the middle of a long run (an endless loop, say) is stopped, not waited for.
    if (r.worker instanceof ApplicationRunner) r.worker.interrupt();
    await r.loop;
    await r.worker.flush?.().catch(() => undefined);
    await r.worker.close?.(opts);
    // Still deployed (the intent stays), but no longer running in this process.
    await this.platform.store.updateFunctionStatus(project, name, { state: 'stopped' }).catch(() => undefined);
  }

  worker(project: string, name: string): Worker | undefined {
    return this.running.get(key(project, name))?.worker;
  }

  /**
   * Steps every worker until none has anything left to do: tracking queues flushed, events
   * ingested, closed windows analyzed, results written.
   */
  async runUntilIdle(maxRounds = 1000): Promise<void> {
    for (let round = 0; round < maxRounds; round++) {
      let did = 0;
      for (const r of this.running.values()) await r.worker.flush?.();
      for (const r of this.running.values()) did += await r.worker.step();
      if (did === 0) {
        for (const r of this.running.values()) await r.worker.flush?.();
        return;
      }
    }
    throw new Error(`workers were still busy after ${maxRounds} rounds`);
  }

  /** Stops every function running here; serving functions answer their requests in flight within `deadlineMs`. */
  async close(opts: { deadlineMs?: number } = {}): Promise<void> {
    for (const k of [...this.running.keys()]) {
      const [project, name] = k.split('\u0000') as [string, string];
      await this.undeploy(project, name, opts);
    }
  }
}

function key(project: string, name: string): string {
  return `${project}\u0000${name}`;
}

/** One step or flush at a time, whether it comes from the loop or from runUntilIdle. */
function serialized(w: Worker): Worker {
  let chain: Promise<unknown> = Promise.resolve();
  const run = <T>(f: () => Promise<T>): Promise<T> => {
    const p = chain.then(f, f);
    chain = p.catch(() => undefined);
    return p;
  };
  return Object.assign(Object.create(w) as Worker, {
    name: w.name,
    step: () => run(() => w.step()),
    flush: w.flush ? () => run(() => w.flush!()) : undefined,
    close: w.close ? (o?: { deadlineMs?: number }) => run(() => w.close!(o)) : undefined,
  });
}
