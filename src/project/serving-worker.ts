import path from 'node:path';
import { EventTooLargeError, ModelError, ValidationError, NotFoundError, errorMessage } from '../common/errors.ts';
import { RepeatedWarning } from '../common/logger.ts';
import type { FunctionRecord, FunctionStatus } from '../store/port.ts';
import type { Platform } from './platform.ts';
import { checkServingExposure } from './functions.ts';
import { invokeAuthorizer } from '../auth/verifier.ts';
import type { Worker } from '../pipeline/worker.ts';
import { SHUTDOWN_DEADLINE_MS } from '../common/limits.ts';
import { typesFromFeatureStats } from '../serving/input-schema.ts';
import { ensureLoaded, loadModelClass, type ModelClass } from '../serving/model.ts';
import { listenOnChosenPort } from '../serving/listen-port.ts';
import { createServingServer, type ServedModel } from '../serving/server.ts';
import { Tracker } from '../tracking/tracker.ts';
import { topics } from '../stream/port.ts';
import { openStream } from '../stream/connect.ts';

/** One model as a serving function's spec keeps it. */
export interface ModelSpec {
  name: string;
  version?: string;
  /** A module file (absolute once registered) exporting the model class. */
  modelPath?: string;
  className?: string;
  /** `store://models/{project}/{key}[:{tag}]` of a logged model. */
  modelUri?: string;
  options?: Record<string, unknown>;
  /** Embedded mode: the model was given as a class or instance, kept in-process. */
  inProcess?: boolean;
}

export interface ServingSpec {
  /** Module holding model classes named by `className` (for models given by store URI). */
  source?: string;
  models: ModelSpec[];
  /** `durable`: a prediction is answered once its event is in the stream (see `setTracking`). */
  tracking: { enabled: boolean; streamPath?: string; samplingPercentage: number; durable?: boolean };
  /** Where it listens. @default 127.0.0.1; another host needs `requireToken`. */
  host?: string;
  port?: number;
  /**
   * Every request but `/v2/health/*` needs `Authorization: Bearer <token>`: a modelwatch API token
   * of its project (or of no project) whose role may invoke (invoker, editor, admin).
   */
  requireToken?: boolean;
}

/** What a model class is constructed with. */
export interface ModelInit {
  name: string;
  /** Absolute path of the logged model's file, when the model came from `logModel`. */
  modelFile?: string;
  featureNames: string[];
  labelNames: string[];
  options: Record<string, unknown>;
}

export type InProcessModels = Map<string, ModelClass | (new (init: ModelInit) => ModelClass)>;

/** Runs a serving function: loads its models, serves the V2 protocol, tracks every request. */
export class ServingWorker implements Worker {
  readonly name: string;
  private server: Awaited<ReturnType<typeof createServingServer>> | undefined;
  private tracker: Tracker | undefined;
  address: string | undefined;

  constructor(
    private readonly platform: Platform,
    private readonly fn: FunctionRecord,
    private readonly inProcess: InProcessModels = new Map(),
    /** The port it listened on before, kept where the spec names none (see `listenOnChosenPort`). */
    private readonly preferredPort?: number,
  ) {
    this.name = fn.name;
  }

  async start(): Promise<string> {
    const spec = this.fn.spec as unknown as ServingSpec;
    if (!spec.models?.length) throw new ValidationError(`serving function '${this.fn.name}' has no models; call addModel() first`);
    // Also for a record saved before the rule: it never listens beyond this machine unguarded.
    checkServingExposure(spec);
    const models: ServedModel[] = [];
    for (const m of spec.models) models.push(await this.loadModel(spec, m));
    if (spec.tracking?.enabled) {
      const streamPath = this.platform.secrets.trackingStreamPath(this.fn);
      const stream = streamPath
        ? await openStream(streamPath, { home: this.platform.options.home, clock: this.platform.clock })
        : await this.platform.streamFor(this.fn.project);
      const publishFailures = new RepeatedWarning(this.platform.logger, 'tracking could not publish; retrying');
      this.tracker = new Tracker({
        stream,
        topic: topics.events(this.fn.project),
        samplingPercentage: spec.tracking.samplingPercentage,
        // Retried about once a second while the stream is down: logged with growing gaps. Events
        // too large are told once per endpoint by the tracker, and are no publish failure.
        onError: (err) =>
          err instanceof EventTooLargeError
            ? this.platform.logger.warn({ function: this.fn.name, err: errorMessage(err) }, 'tracking: events too large for the stream were not published as they are')
            : publishFailures.warn({ function: this.fn.name, err: errorMessage(err) }),
      });
    }
    this.server = createServingServer({
      project: this.fn.project,
      functionName: this.fn.name,
      models,
      ...(this.tracker ? { tracker: this.tracker, durableTracking: spec.tracking.durable === true } : {}),
      clock: this.platform.clock,
      logger: this.platform.logger,
      ...(spec.requireToken ? { authorize: invokeAuthorizer(this.platform.store, this.fn.project, this.fn.name) } : {}),
    });
    const server = this.server;
    this.address = await listenOnChosenPort((port) => server.listen(spec.host ?? '127.0.0.1', port), {
      ...(spec.port ? { port: spec.port } : {}),
      ...(this.preferredPort ? { preferredPort: this.preferredPort } : {}),
      onFallback: (port, err) => this.platform.logger.warn({ function: this.fn.name, port, err: errorMessage(err) }, 'the port this function had stayed in use; listening on another one'),
    });
    await this.platform.store.updateFunctionStatus(this.fn.project, this.fn.name, {
      state: 'running',
      address: this.address,
      port: listeningPort(server.app.server.address()),
      pid: process.pid,
      heartbeatAt: this.platform.clock.now(),
      version: this.fn.updatedAt,
    });
    return this.address;
  }

  private async loadModel(spec: ServingSpec, m: ModelSpec): Promise<ServedModel> {
    const record = m.modelUri ? await modelRecord(this.platform, m.modelUri) : undefined;
    const init: ModelInit = {
      name: m.name,
      ...(record?.modelFile ? { modelFile: path.resolve(this.platform.options.artifactPath, record.modelFile) } : {}),
      featureNames: record?.featureNames ?? [],
      labelNames: record?.labelNames ?? [],
      options: m.options ?? {},
    };
    let model: ModelClass;
    const given = this.inProcess.get(m.name);
    if (given) {
      try {
        model = typeof given === 'function' ? new given(init) : given;
      } catch (err) {
        throw new ModelError(m.name, err);
      }
      // Loaded before the function reports running (the server's own load() call reuses this one).
      await ensureLoaded(model, m.name);
    } else if (m.inProcess) {
      throw new ValidationError(`model '${m.name}' of '${this.fn.name}' was given as an in-process class; deploy it from the same process (embedded mode) or name its module with modelPath`);
    } else {
      const modulePath = m.modelPath ?? spec.source;
      if (!modulePath) throw new ValidationError(`model '${m.name}' names no module: give modelPath (a module file) or the function's source`);
      model = await loadModelClass({
        modelPath: modulePath,
        ...(m.className ? { className: m.className } : {}),
        options: init as unknown as Record<string, unknown>,
        ...(this.platform.codeRoots ? { codeRoots: this.platform.codeRoots } : {}),
      });
    }
    return {
      name: m.name,
      ...(m.version ? { version: m.version } : {}),
      model,
      ...(m.modelUri ? { modelUri: m.modelUri } : {}),
      featureNames: init.featureNames,
      labelNames: init.labelNames,
      // The training set tells numeric from categorical columns: what each feature takes.
      ...withInputTypes(typesFromFeatureStats(init.featureNames, record?.featureStats)),
    };
  }

  async step(): Promise<number> {
    return 0;
  }

  async flush(): Promise<void> {
    await this.tracker?.flush();
  }

  trackingStats() {
    return this.tracker?.stats();
  }

  /** Dropped events already told of in the log. */
  private droppedLogged = 0;

  /** The tracker's counters for the function's status; events dropped since the last heartbeat are logged. */
  heartbeat(): Partial<FunctionStatus> {
    const tracking = this.tracker?.stats();
    if (!tracking) return {};
    if (tracking.dropped > this.droppedLogged) {
      this.platform.logger.warn(
        { function: this.fn.name, dropped: tracking.dropped - this.droppedLogged, droppedTotal: tracking.dropped, queued: tracking.queued },
        'tracking dropped events (its queue was full while the stream did not take events, or they could not be encoded)',
      );
      this.droppedLogged = tracking.dropped;
    }
    return { tracking };
  }

  /**
   * Stops gracefully within `deadlineMs` (default 10 s): stops accepting, answers the requests in
   * flight, then flushes their tracking events to the stream. A fifth of the deadline (at most 2 s)
   * is kept for the flush; events still queued at the deadline are dropped and counted.
   */
  async close(opts: { deadlineMs?: number } = {}): Promise<void> {
    const deadlineMs = opts.deadlineMs ?? SHUTDOWN_DEADLINE_MS;
    const started = Date.now();
    const report = await this.server?.close({ deadlineMs: deadlineMs - Math.min(2000, deadlineMs / 5) });
    if (report?.cutConnections) this.platform.logger.warn({ function: this.fn.name, connections: report.cutConnections }, 'requests still open at the shutdown deadline were cut off');
    const dropped = this.tracker?.stats().dropped ?? 0;
    await this.tracker?.close({ timeoutMs: Math.max(1, deadlineMs - (Date.now() - started)) });
    const lost = (this.tracker?.stats().dropped ?? 0) - dropped;
    if (lost > 0) this.platform.logger.warn({ function: this.fn.name, events: lost }, 'tracking events could not be flushed before the shutdown deadline');
    await this.platform.store.updateFunctionStatus(this.fn.project, this.fn.name, { state: 'stopped' }).catch(() => undefined);
  }
}

function listeningPort(addr: string | { port: number } | null): number | undefined {
  return typeof addr === 'object' && addr !== null ? addr.port : undefined;
}

function withInputTypes(types: ServedModel['inputTypes']): Pick<ServedModel, 'inputTypes'> {
  return types ? { inputTypes: types } : {};
}

/** Reads a logged model from its `store://models/{project}/{key}[:{tag}]` URI. */
export async function modelRecord(platform: Platform, uri: string) {
  const m = /^store:\/\/models\/([^/]+)\/([^:]+)(?::(.+))?$/.exec(uri);
  if (!m) throw new ValidationError(`model URI '${uri}' is not of the form store://models/{project}/{key}[:{tag}]`);
  const rec = await platform.store.getModel(m[1]!, m[2]!, m[3] ?? 'latest');
  if (!rec) throw new NotFoundError('model', uri);
  return rec;
}
