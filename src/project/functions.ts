import fs from 'node:fs';
import path from 'node:path';
import { ValidationError } from '../common/errors.ts';
import { isLoopbackHost } from '../common/loopback.ts';
import { checkFunctionName, HISTOGRAM_DRIFT_APP } from '../common/names.ts';
import type { MonitoringApplication, MonitoringApplicationClass } from '../apps/base.ts';
import { resolveHistogramDataDriftOptions } from '../apps/histogram-data-drift.ts';
import { BUILTIN_APPLICATIONS, isBuiltinApplication } from '../apps/builtin.ts';
import { runLimits } from '../apps/run-limits.ts';
import type { ModelClass } from '../serving/model.ts';
import type { ApplicationSpec } from './runtime.ts';
import type { ModelInit, ModelSpec, ServingSpec } from './serving-worker.ts';

/** Options of `addModel`. */
export interface AddModelOptions {
  /** A module file exporting the model class, or the `store://models/...` URI of a logged model. */
  modelPath?: string;
  /** The export of the module (or of the function's `source`) to use. */
  className?: string;
  /** Embedded mode: the model class or instance itself. */
  model?: ModelClass | (new (init: ModelInit) => ModelClass);
  /** The logged model this endpoint serves (reference statistics come from it). */
  modelUri?: string;
  version?: string;
  options?: Record<string, unknown>;
}

/** A serving function being configured: models, tracking; deployed with `project.deployFunction`. */
export class ServingFunction {
  readonly kind = 'serving' as const;
  readonly spec: ServingSpec;
  /** In-process models (embedded mode only), by model name. */
  readonly inProcessModels = new Map<string, ModelClass | (new (init: ModelInit) => ModelClass)>();
  /** Set by the project: sends a request to the deployed function. */
  invoker: ((fn: ServingFunction, urlPath: string, body?: unknown) => Promise<unknown>) | undefined;

  constructor(
    readonly project: string,
    readonly name: string,
    spec?: Partial<ServingSpec>,
  ) {
    checkFunctionName(name);
    this.spec = {
      ...(spec?.source ? { source: spec.source } : {}),
      models: spec?.models ?? [],
      tracking: spec?.tracking ?? { enabled: false, samplingPercentage: 100 },
      ...(spec?.host ? { host: spec.host } : {}),
      ...(spec?.port !== undefined ? { port: spec.port } : {}),
      ...(spec?.requireToken ? { requireToken: true } : {}),
    };
  }

  /** Adds (or replaces) a model on this function's router. */
  addModel(name: string, opts: AddModelOptions): this {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) throw new ValidationError(`model name '${name}' may hold letters, digits, '.', '_' and '-'`);
    const m: ModelSpec = { name };
    if (opts.version) m.version = opts.version;
    if (opts.options) m.options = opts.options;
    if (opts.className) m.className = opts.className;
    if (opts.modelUri) m.modelUri = opts.modelUri;
    if (opts.modelPath?.startsWith('store://')) m.modelUri = opts.modelPath;
    else if (opts.modelPath) m.modelPath = opts.modelPath;
    if (opts.model) {
      m.inProcess = true;
      this.inProcessModels.set(name, opts.model);
    }
    if (!opts.model && !m.modelPath && !(m.modelUri && (m.className || this.spec.source))) {
      throw new ValidationError(`addModel('${name}') needs a model: modelPath (module file), a logged model URI with className and the function's source, or (embedded) model`);
    }
    this.spec.models = [...this.spec.models.filter((x) => x.name !== name), m];
    return this;
  }

  /**
   * Turns tracking on: every request becomes an inference event on the monitoring stream. With
   * `durable`, a prediction is answered only once its event is in the stream (a request whose event
   * cannot be stored gets 503 `tracking_unavailable`, one whose event never can, a row of it too
   * large for an event, 413 `event_too_large`), so a worker killed at any moment loses no answered
   * prediction; it costs each request about one publish to the stream.
   */
  setTracking(opts: { streamPath?: string; samplingPercentage?: number; enabled?: boolean; durable?: boolean } = {}): this {
    const pct = opts.samplingPercentage ?? 100;
    if (typeof pct !== 'number' || !(pct > 0 && pct <= 100)) throw new ValidationError(`samplingPercentage must be in (0, 100], got ${pct}`);
    if (opts.durable !== undefined && typeof opts.durable !== 'boolean') throw new ValidationError(`durable must be true or false, got ${String(opts.durable)}`);
    this.spec.tracking = {
      enabled: opts.enabled ?? true,
      samplingPercentage: pct,
      ...(opts.streamPath ? { streamPath: opts.streamPath } : {}),
      ...(opts.durable ? { durable: true } : {}),
    };
    return this;
  }

  /**
   * Requires a modelwatch API token on every request but the health checks (`Authorization:
   * Bearer <token>`): one of this project, or of no project, whose role may invoke (invoker,
   * editor, admin). Needed to listen on a host other than loopback.
   */
  requireToken(required = true): this {
    if (required) this.spec.requireToken = true;
    else delete this.spec.requireToken;
    return this;
  }

  /** Sends a request to the deployed function: `invoke('/v2/models/m/infer', body)`. */
  async invoke(urlPath: string, body?: unknown): Promise<unknown> {
    if (!this.invoker) throw new ValidationError(`function '${this.name}' is not deployed; call project.deployFunction(fn) first`);
    return this.invoker(this, urlPath, body);
  }
}

/** Options of `setModelMonitoringFunction` / `createModelMonitoringFunction`. */
export interface MonitoringFunctionOptions {
  name: string;
  /**
   * Module file exporting the app class, a built-in app's name (`data-drift-report`,
   * `histogram-data-drift`), or (embedded) the class or instance itself.
   */
  application: string | MonitoringApplicationClass | MonitoringApplication;
  /** Export name in the module. @default the default export or the first application class */
  className?: string;
  /** Alias of className, as the peer calls it. */
  handler?: string;
  /**
   * Handed to the app's constructor and context (thresholds and the like), except `timeoutSeconds`
   * (default 60) and `memoryLimitMb` (default 512), the platform's limits on each run of the app
   * (see `RunLimits`).
   */
  options?: Record<string, unknown>;
  labels?: Record<string, string>;
}

/** A monitoring application function, not running until deployed. */
export class MonitoringFunction {
  readonly kind = 'monitoring-application' as const;
  readonly name: string;
  readonly spec: ApplicationSpec;
  readonly labels: Record<string, string>;
  readonly inProcess: MonitoringApplicationClass | MonitoringApplication | undefined;

  constructor(
    readonly project: string,
    opts: MonitoringFunctionOptions,
  ) {
    checkFunctionName(opts.name);
    this.name = opts.name;
    this.labels = opts.labels ?? {};
    const className = opts.className ?? opts.handler;
    runLimits(opts.options);
    if (typeof opts.application === 'string' && isBuiltinApplication(opts.application)) {
      if (className) throw new ValidationError(`the built-in application '${opts.application}' takes no className`);
      if (opts.application === HISTOGRAM_DRIFT_APP) resolveHistogramDataDriftOptions(opts.options);
      this.spec = { builtin: opts.application, options: opts.options ?? {} };
      this.inProcess = undefined;
    } else if (typeof opts.application === 'string') {
      checkModuleReference(opts.application);
      this.spec = { application: opts.application, ...(className ? { className } : {}), options: opts.options ?? {} };
      this.inProcess = undefined;
    } else if (opts.application && (typeof opts.application === 'function' || typeof opts.application === 'object')) {
      this.spec = { inProcess: true, options: opts.options ?? {} };
      this.inProcess = opts.application;
    } else {
      throw new ValidationError(`monitoring function '${opts.name}' needs application: a module file, a built-in app name (data-drift-report), or a MonitoringApplication class`);
    }
  }

  /** What a server is told to load: the built-in's name or the module file (undefined for an in-process class). */
  get applicationRef(): string | undefined {
    return this.spec.builtin ?? this.spec.application;
  }
}

/**
 * A bare name (no folder, no file extension) that is no built-in app and no file is a misspelt
 * built-in rather than a module: it fails here, where it is given, not at deploy.
 */
function checkModuleReference(application: string): void {
  const bare = !/[\\/]/.test(application) && path.extname(application) === '';
  if (!bare || fs.existsSync(application)) return;
  throw new ValidationError(
    `application '${application}' is neither a built-in app (${Object.keys(BUILTIN_APPLICATIONS).join(', ')}) nor a module file; name a file such as ./apps/my-app.js`,
    { application, builtins: Object.keys(BUILTIN_APPLICATIONS) },
  );
}

/**
 * The spec with its module files located by `codePath` (the platform's, where the function is
 * registered): clients send paths as they name them, and the store keeps where they lie.
 */
export function locateServingCode(spec: ServingSpec, codePath: (file: string) => string): ServingSpec {
  return {
    ...spec,
    ...(spec.source ? { source: codePath(spec.source) } : {}),
    models: spec.models.map((m) => (m.modelPath ? { ...m, modelPath: codePath(m.modelPath) } : m)),
  };
}

/**
 * A serving function that listens beyond this machine must require a token, as `modelwatch up`
 * does on such a host.
 * @throws ValidationError otherwise.
 */
export function checkServingExposure(spec: Pick<ServingSpec, 'host' | 'requireToken'>): void {
  if (spec.host === undefined || isLoopbackHost(spec.host) || spec.requireToken) return;
  throw new ValidationError(
    `spec.host '${spec.host}' is reachable from other machines, so the function must require a token (fn.requireToken(), spec.requireToken: true over REST, --require-token in the CLI); ` +
      'then callers send Authorization: Bearer <token> with a token from `modelwatch tokens create --role invoker --project <project>`',
  );
}
