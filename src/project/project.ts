import fs from 'node:fs/promises';
import path from 'node:path';
import { ConflictError, InvokeError, NotFoundError, NotRunningError, ValidationError, errorMessage } from '../common/errors.ts';
import {
  CONTROLLER_FUNCTION,
  HISTOGRAM_DRIFT_APP,
  RESERVED_FUNCTION_NAMES,
  STREAM_FUNCTION,
  WRITER_FUNCTION,
  checkFunctionName,
} from '../common/names.ts';
import { resolveUnder, safeFileName } from '../common/safe-path.ts';
import type { EndpointRecord } from '../common/types.ts';
import { SETTING_LIMITS } from '../common/limits.ts';
import { resolveHistogramDataDriftOptions } from '../apps/histogram-data-drift.ts';
import { computeFeatureStats } from '../stats/feature-stats.ts';
import { writeParquetTable } from '../data/parquet-table.ts';
import { toColumns, type TabularInput } from '../data/tabular.ts';
import { redactSecrets } from '../common/redact.ts';
import { parseConnectionUrl } from '../store/connect.ts';
import type { Credentials, FunctionRecord, LateWindow, LateWindowQuery, ModelRecord, MonitoringEvent, ProjectRecord } from '../store/port.ts';
import type { DeadLetterQuery, DeadLetterRow, MetricRow, ResultRow, SeriesQuery } from '../store/tsdb-port.ts';
import type { Platform } from './platform.ts';
import { listLateWindows, reanalyzeWindows, type ReanalyzedWindow, type ReanalyzeOptions } from '../pipeline/controller/reanalyze.ts';
import { MonitoringFunction, ServingFunction, checkServingExposure, locateServingCode, type MonitoringFunctionOptions } from './functions.ts';
import type { InProcessRuntime } from './runtime.ts';
import { endpointSummary, type ListEndpointsOptions } from './endpoint-summary.ts';
import { checkLogModelCall } from './log-model-checks.ts';
import { DEFAULT_DEPLOY_TIMEOUT_SECONDS, awaitRunning, noSupervisorError, notRunningError, supervisorRunning, type DeployOptions } from './deploy-state.ts';

export interface EnableMonitoringOptions {
  /** Minutes between controller runs and the window length. @default 10 */
  basePeriod?: number;
  /** @default true */
  deployHistogramDataDriftApp?: boolean;
  /** Redeploy the infrastructure functions even when running. @default false */
  rebuild?: boolean;
  /** Seconds a window waits after its end for late events. @default 60 */
  graceSeconds?: number;
  /** Windows caught up per (endpoint, app) in one controller tick. @default 12 */
  maxWindowsPerTick?: number;
  /**
   * Options of the built-in drift app: `potentialThreshold`, `detectedThreshold`, `binning`
   * (`'reference'` or `'mlrun'`), `minSamples` (see `HistogramDataDriftOptions`); checked here.
   */
  histogramDataDriftOptions?: Record<string, unknown>;
}

export interface DisableMonitoringOptions {
  /** Stop the controller and writer. @default true */
  deleteResources?: boolean;
  /** @default false */
  deleteStreamFunction?: boolean;
  /** @default true */
  deleteHistogramDataDriftApp?: boolean;
  /** @default false */
  deleteUserApplications?: boolean;
  /** Only these user apps (with deleteUserApplications). */
  userApplicationList?: string[];
}

/** File name of the kept training set in a model's artifact folder. */
export const TRAINING_SET_FILE = 'training-set.parquet';

export interface LogModelOptions {
  /** The model itself: a JSON-serialisable object (weights), stored as `model.json`. */
  model?: unknown;
  /** A model file to copy into the artifact path. */
  modelFile?: string;
  trainingSet: TabularInput;
  labelColumn?: string | string[];
  /** Feature names; default: every column but the labels. */
  inputs?: string[];
  outputs?: string[];
  tag?: string;
  labels?: Record<string, string>;
  /** Column names when the training set is given as arrays of rows. */
  columns?: string[];
}

/** What a read API shows of credentials: which are set and their scheme, never the secret. */
export interface CredentialsView {
  endpointStoreConnection?: string;
  tsdbConnection?: string;
  streamPath?: string;
}

/**
 * A project: the SDK surface of SPEC section 2. The same calls back the REST API and the CLI.
 * `runtime` (embedded mode) runs deployed functions in this process; without it, deploying
 * marks the function for the server's supervisor.
 */
export class Project {
  /** @internal Projects come from `Modelwatch.getProject` and the like. */
  constructor(
    readonly name: string,
    private readonly platform: Platform,
    private readonly runtime?: InProcessRuntime,
  ) {}

  async record(): Promise<ProjectRecord> {
    const p = await this.platform.store.getProject(this.name);
    if (!p) throw new NotFoundError('project', this.name);
    return p;
  }

  // ---- monitoring infrastructure ----

  async enableModelMonitoring(opts: EnableMonitoringOptions = {}): Promise<ProjectRecord['monitoring']> {
    const basePeriod = opts.basePeriod ?? 10;
    if (!Number.isInteger(basePeriod) || basePeriod < 1 || basePeriod > SETTING_LIMITS.basePeriodMinutes) {
      throw new ValidationError(`basePeriod must be a whole number of minutes from 1 to ${SETTING_LIMITS.basePeriodMinutes} (a week), got ${basePeriod}`);
    }
    if (basePeriod < 10) this.platform.logger.warn({ project: this.name, basePeriod }, 'basePeriod below 10 minutes: fine for tests and demos, costly in production');
    if (opts.histogramDataDriftOptions !== undefined) resolveHistogramDataDriftOptions(opts.histogramDataDriftOptions);
    const p = await this.record();
    if (p.monitoring?.enabled && p.monitoring.basePeriodMinutes !== basePeriod && !opts.rebuild) {
      throw new ConflictError(
        `monitoring is enabled with basePeriod ${p.monitoring.basePeriodMinutes}; disable it first (or call updateModelMonitoringController) to change it to ${basePeriod}`,
      );
    }
    const settings = {
      enabled: true,
      basePeriodMinutes: basePeriod,
      graceSeconds: opts.graceSeconds ?? p.monitoring?.graceSeconds ?? 60,
      maxWindowsPerTick: opts.maxWindowsPerTick ?? p.monitoring?.maxWindowsPerTick ?? 12,
      enabledAt: p.monitoring?.enabled ? p.monitoring.enabledAt : this.platform.clock.now(),
    };
    if (!(settings.graceSeconds >= 0 && settings.graceSeconds <= SETTING_LIMITS.graceSeconds)) {
      throw new ValidationError(`graceSeconds must be from 0 to ${SETTING_LIMITS.graceSeconds} (a day), got ${settings.graceSeconds}`);
    }
    if (!Number.isInteger(settings.maxWindowsPerTick) || settings.maxWindowsPerTick < 1 || settings.maxWindowsPerTick > SETTING_LIMITS.maxWindowsPerTick) {
      throw new ValidationError(`maxWindowsPerTick must be a whole number from 1 to ${SETTING_LIMITS.maxWindowsPerTick}, got ${settings.maxWindowsPerTick}`);
    }
    await this.platform.store.updateProject(this.name, { monitoring: settings });
    for (const name of [STREAM_FUNCTION, WRITER_FUNCTION, CONTROLLER_FUNCTION]) {
      const existing = await this.platform.store.getFunction(this.name, name);
      if (existing?.deployed && !opts.rebuild) {
        await this.ensureRunning(existing);
        continue;
      }
      await this.putFunction({ name, kind: 'infrastructure', spec: {}, labels: { 'mw-type': 'infrastructure' } });
      await this.deployFunction(name, { wait: false });
    }
    if (opts.deployHistogramDataDriftApp ?? true) {
      const existing = await this.platform.store.getFunction(this.name, HISTOGRAM_DRIFT_APP);
      if (existing?.deployed && !opts.rebuild && !opts.histogramDataDriftOptions) await this.ensureRunning(existing);
      else {
        await this.putFunction({
          name: HISTOGRAM_DRIFT_APP,
          kind: 'monitoring-application',
          spec: { builtin: HISTOGRAM_DRIFT_APP, options: opts.histogramDataDriftOptions ?? {} },
          labels: { 'mw-type': 'monitoring-application', 'mw-builtin': 'true' },
        });
        await this.deployFunction(HISTOGRAM_DRIFT_APP, { wait: false });
      }
    }
    return settings;
  }

  /** Changes the base period of a running controller. */
  async updateModelMonitoringController(opts: { basePeriod: number }): Promise<void> {
    const p = await this.record();
    if (!p.monitoring?.enabled) throw new ConflictError('monitoring is not enabled on this project');
    await this.enableModelMonitoring({ basePeriod: opts.basePeriod, deployHistogramDataDriftApp: false, rebuild: true });
  }

  async disableModelMonitoring(opts: DisableMonitoringOptions = {}): Promise<void> {
    const p = await this.record();
    if (p.monitoring) await this.platform.store.updateProject(this.name, { monitoring: { ...p.monitoring, enabled: false } });
    if (opts.deleteResources ?? true) {
      await this.undeploy(CONTROLLER_FUNCTION);
      await this.undeploy(WRITER_FUNCTION);
    }
    if (opts.deleteStreamFunction ?? false) await this.undeploy(STREAM_FUNCTION);
    if (opts.deleteHistogramDataDriftApp ?? true) await this.removeFunctionRecord(HISTOGRAM_DRIFT_APP);
    if (opts.deleteUserApplications ?? false) {
      const apps = await this.listModelMonitoringFunctions();
      for (const a of apps) {
        if (a.name === HISTOGRAM_DRIFT_APP) continue;
        if (opts.userApplicationList && !opts.userApplicationList.includes(a.name)) continue;
        await this.removeFunctionRecord(a.name);
      }
    }
  }

  // ---- monitoring applications ----

  createModelMonitoringFunction(opts: MonitoringFunctionOptions): MonitoringFunction {
    if ((RESERVED_FUNCTION_NAMES as readonly string[]).includes(opts.name)) {
      throw new ValidationError(`'${opts.name}' is a reserved function name (${RESERVED_FUNCTION_NAMES.join(', ')})`);
    }
    return new MonitoringFunction(this.name, opts);
  }

  async setModelMonitoringFunction(opts: MonitoringFunctionOptions): Promise<MonitoringFunction> {
    const fn = this.createModelMonitoringFunction(opts);
    const existing = await this.platform.store.getFunction(this.name, fn.name);
    if (existing && existing.kind !== 'monitoring-application') throw new ConflictError(`function '${fn.name}' exists and is a ${existing.kind} function`);
    if (fn.inProcess) {
      if (!this.runtime) throw new ValidationError('a class can be passed directly only in embedded mode; name the module file instead');
      this.runtime.registry.apps.set(`${this.name}/${fn.name}`, fn.inProcess);
    }
    const spec = fn.spec.application ? { ...fn.spec, application: this.platform.codePath(fn.spec.application) } : fn.spec;
    await this.putFunction({ name: fn.name, kind: 'monitoring-application', spec: spec as Record<string, unknown>, labels: { ...fn.labels, 'mw-type': 'monitoring-application' } });
    if (existing?.deployed) await this.deployFunction(fn.name, { wait: false });
    return fn;
  }

  async listModelMonitoringFunctions(filter: { name?: string; labels?: Record<string, string> } = {}): Promise<FunctionRecord[]> {
    const all = await this.listFunctions();
    return all.filter(
      (f) =>
        f.kind === 'monitoring-application' &&
        (!filter.name || f.name === filter.name) &&
        Object.entries(filter.labels ?? {}).every(([k, v]) => f.labels[k] === v),
    );
  }

  async removeModelMonitoringFunction(names: string | string[]): Promise<void> {
    for (const name of Array.isArray(names) ? names : [names]) {
      const f = await this.platform.store.getFunction(this.name, name);
      if (!f || f.kind !== 'monitoring-application') throw new NotFoundError('monitoring function', name);
      await this.removeFunctionRecord(name);
    }
  }

  // ---- credentials ----

  async setModelMonitoringCredentials(creds: Credentials & { replace?: boolean }): Promise<CredentialsView & { notAvailable: string[] }> {
    const { replace = false, ...given } = creds;
    const notAvailable: string[] = [];
    const checks: [keyof Credentials, 'store' | 'tsdb' | 'stream'][] = [
      ['endpointStoreConnection', 'store'],
      ['tsdbConnection', 'tsdb'],
      ['streamPath', 'stream'],
    ];
    for (const [k, what] of checks) {
      const v = given[k];
      if (v === undefined) continue;
      if (typeof v !== 'string' || !v) throw new ValidationError(`${k} must be a connection URL`);
      const parsed = parseConnectionUrl(v, what);
      if (!parsed.available) notAvailable.push(`${k} (${parsed.scheme}): not available yet in this build`);
    }
    const current = (await this.platform.secrets.getCredentials(this.name)) ?? {};
    if (!replace) {
      for (const [k] of checks) {
        const v = given[k];
        if (v !== undefined && current[k] !== undefined && current[k] !== v) {
          throw new ConflictError(`${k} is already set for project '${this.name}'; pass replace: true to change it`);
        }
      }
    }
    await this.platform.secrets.setCredentials(this.name, { ...current, ...given });
    return { ...(await this.getModelMonitoringCredentials()), notAvailable };
  }

  /** Which connections are set, with secrets hidden. */
  async getModelMonitoringCredentials(): Promise<CredentialsView> {
    const c = (await this.platform.secrets.getCredentials(this.name)) ?? {};
    const out: CredentialsView = {};
    for (const k of ['endpointStoreConnection', 'tsdbConnection', 'streamPath'] as const) {
      const v = c[k];
      if (v) out[k] = redactSecrets(v);
    }
    return out;
  }

  // ---- models ----

  async logModel(key: string, opts: LogModelOptions): Promise<ModelRecord> {
    checkLogModelCall(key, opts);
    const tag = opts.tag ?? 'latest';
    const table = await toColumns(opts.trainingSet, opts.columns ? { columns: opts.columns } : undefined);
    const labelNames = opts.outputs ?? (opts.labelColumn === undefined ? [] : Array.isArray(opts.labelColumn) ? opts.labelColumn : [opts.labelColumn]);
    for (const l of labelNames) if (!table.names.includes(l)) throw new ValidationError(`label column '${l}' is not in the training set (columns: ${table.names.join(', ')})`);
    const featureNames = opts.inputs ?? table.names.filter((n) => !labelNames.includes(n));
    for (const f of featureNames) if (!table.names.includes(f)) throw new ValidationError(`input '${f}' is not in the training set`);
    const usedNames = [...new Set([...featureNames, ...labelNames])];
    const used: Record<string, unknown[]> = {};
    for (const n of usedNames) used[n] = table.columns[n]!;
    const featureStats = computeFeatureStats(used);
    const dir = resolveUnder(this.platform.options.artifactPath, this.name, 'models', key, tag);
    await fs.mkdir(dir, { recursive: true });
    let modelFile: string | null = null;
    if (opts.modelFile) {
      modelFile = resolveUnder(dir, safeFileName(path.basename(opts.modelFile), 'model'));
      await fs.copyFile(opts.modelFile, modelFile);
    } else if (opts.model !== undefined) {
      modelFile = path.join(dir, 'model.json');
      await fs.writeFile(modelFile, JSON.stringify(opts.model));
    }
    await fs.writeFile(path.join(dir, 'feature-stats.json'), JSON.stringify(featureStats));
    // The rows themselves are the data-drift-report app's reference (SPEC section 4).
    const trainingSet = path.join(dir, TRAINING_SET_FILE);
    await writeParquetTable(trainingSet, { names: usedNames, columns: used, rowCount: table.rowCount });
    const rec: ModelRecord = {
      project: this.name,
      key,
      tag,
      uri: `store://models/${this.name}/${key}:${tag}`,
      modelFile: modelFile ? path.relative(this.platform.options.artifactPath, modelFile) : null,
      className: null,
      featureNames,
      labelNames,
      featureStats,
      labels: opts.labels ?? {},
      trainingSet: path.relative(this.platform.options.artifactPath, trainingSet),
      createdAt: this.platform.clock.now(),
    };
    await this.platform.store.putModel(rec);
    return rec;
  }

  async getModel(key: string, tag = 'latest'): Promise<ModelRecord> {
    const m = await this.platform.store.getModel(this.name, key, tag);
    if (!m) throw new NotFoundError('model', `${key}:${tag}`);
    return m;
  }

  // ---- serving ----

  /** Creates (or loads) a serving function; configure it, then `deployFunction(fn)`. */
  async setFunction(name: string, opts: { kind: 'serving'; source?: string } = { kind: 'serving' }): Promise<ServingFunction> {
    checkFunctionName(name);
    if ((RESERVED_FUNCTION_NAMES as readonly string[]).includes(name)) throw new ValidationError(`'${name}' is a reserved function name`);
    if (opts.kind !== 'serving') throw new ValidationError(`setFunction supports kind 'serving', got '${String(opts.kind)}'`);
    const existing = await this.platform.store.getFunction(this.name, name);
    const fn = new ServingFunction(this.name, name, existing?.kind === 'serving' ? (existing.spec as never) : opts.source ? { source: opts.source } : undefined);
    fn.invoker = (f, p, b) => this.invoke(f.name, p, b);
    return fn;
  }

  /**
   * Registers (if given an object) and deploys a function, and returns once it runs: in embedded
   * mode this process runs it; otherwise a supervisor (`modelwatch up`) does, and this waits for
   * its worker to report running (see {@link DeployOptions}). Throws the function's own error when
   * it cannot start.
   */
  async deployFunction(fn: string | ServingFunction | MonitoringFunction, opts: DeployOptions = {}): Promise<FunctionRecord> {
    let name: string;
    if (typeof fn === 'string') name = fn;
    else if (fn instanceof ServingFunction) {
      name = fn.name;
      if (fn.inProcessModels.size) {
        if (!this.runtime) throw new ValidationError('models passed as classes can be deployed only in embedded mode; name their module with modelPath');
        this.runtime.registry.models.set(`${this.name}/${fn.name}`, fn.inProcessModels);
      }
      checkServingExposure(fn.spec);
      const spec = await this.platform.secrets.sealServingSpec(locateServingCode(fn.spec, (f) => this.platform.codePath(f)), (await this.platform.store.getFunction(this.name, name))?.spec);
      await this.putFunction({ name, kind: 'serving', spec: spec as unknown as Record<string, unknown>, labels: {} });
    } else {
      await this.setModelMonitoringFunction({ name: fn.name, application: fn.inProcess ?? fn.applicationRef!, ...(fn.spec.className ? { className: fn.spec.className } : {}), options: fn.spec.options ?? {}, labels: fn.labels });
      name = fn.name;
    }
    const rec = await this.platform.store.getFunction(this.name, name);
    if (!rec) throw new NotFoundError('function', name);
    const wait = !this.runtime && (opts.wait ?? true);
    const timeoutSeconds = opts.timeoutSeconds ?? DEFAULT_DEPLOY_TIMEOUT_SECONDS;
    if (!(timeoutSeconds > 0 && timeoutSeconds <= SETTING_LIMITS.deployTimeoutSeconds)) {
      throw new ValidationError(`timeoutSeconds must be a number of seconds > 0 and ≤ ${SETTING_LIMITS.deployTimeoutSeconds}, got ${String(opts.timeoutSeconds)}`);
    }
    // Nothing would start it: say so before marking it deployed.
    if (wait && !(await supervisorRunning(this.platform))) throw noSupervisorError(this.name, name);
    const now = this.platform.clock.now();
    const deployed: FunctionRecord = { ...rec, deployed: true, status: { ...rec.status, state: 'starting', version: now }, updatedAt: now };
    await this.platform.store.putFunction(deployed);
    if (this.runtime) await this.runtime.deploy(deployed);
    if (wait) return this.platform.secrets.redactFunction(await awaitRunning(this.platform, this.name, name, now, timeoutSeconds));
    return this.platform.secrets.redactFunction((await this.platform.store.getFunction(this.name, name)) ?? deployed);
  }

  async getFunction(name: string): Promise<FunctionRecord> {
    const f = await this.platform.store.getFunction(this.name, name);
    if (!f) throw new NotFoundError('function', name);
    return this.platform.secrets.redactFunction(f);
  }

  async listFunctions(): Promise<FunctionRecord[]> {
    return (await this.platform.store.listFunctions(this.name)).map((f) => this.platform.secrets.redactFunction(f));
  }

  /**
   * Sends a request to a deployed serving function.
   * @param opts.token An API token, sent on to a function that requires one (see `ServingFunction.requireToken`).
   * @throws NotRunningError when it is not serving (not deployed, starting, crashed: with its last
   *   error); InvokeError when it answers with an error status.
   */
  async invoke(functionName: string, urlPath: string, body?: unknown, opts: { token?: string } = {}): Promise<unknown> {
    const f = await this.getFunction(functionName);
    if (f.kind !== 'serving') throw new ValidationError(`function '${functionName}' is not a serving function`);
    if (!f.deployed || f.status.state !== 'running' || !f.status.address) {
      throw notRunningError(f, this.runtime ? undefined : await supervisorRunning(this.platform));
    }
    let res: Response;
    try {
      res = await fetch(new URL(urlPath, f.status.address), {
        method: body === undefined ? 'GET' : 'POST',
        headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (err) {
      // Nothing answers at the recorded address: the worker is gone or restarting.
      const cause = (err as { cause?: unknown }).cause ?? err;
      throw new NotRunningError(`serving function '${functionName}' did not answer at ${f.status.address} (its worker may be restarting): ${errorMessage(cause)}`, {
        function: functionName,
        state: f.status.state,
      });
    }
    const text = await res.text();
    const parsed = parseBody(text, res.headers.get('content-type'));
    if (!res.ok) {
      const msg = (parsed as { message?: string } | undefined)?.message ?? text;
      throw new InvokeError(res.status, `${functionName} ${urlPath} → ${res.status}: ${msg}`, parsed);
    }
    return parsed;
  }

  // ---- endpoints and results ----

  /**
   * The project's model endpoints, from its endpoint store ({@link Platform.endpointStoreFor});
   * feature distributions only with `full` (see {@link ListEndpointsOptions}).
   */
  async listModelEndpoints(opts: ListEndpointsOptions = {}): Promise<EndpointRecord[]> {
    const all = await (await this.platform.endpointStoreFor(this.name)).listEndpoints(this.name);
    return opts.full ? all : all.map(endpointSummary);
  }

  async getModelEndpoint(id: string): Promise<EndpointRecord> {
    const e = await (await this.platform.endpointStoreFor(this.name)).getEndpoint(this.name, id);
    if (!e) throw new NotFoundError('model endpoint', id);
    return e;
  }

  async listResults(q: SeriesQuery = {}): Promise<ResultRow[]> {
    return (await this.platform.tsdbFor(this.name)).listResults(this.name, q);
  }

  async listMetrics(q: SeriesQuery = {}): Promise<MetricRow[]> {
    return (await this.platform.tsdbFor(this.name)).listMetrics(this.name, q);
  }

  async latestResults(q: { endpointId?: string; app?: string } = {}): Promise<ResultRow[]> {
    return (await this.platform.tsdbFor(this.name)).latestResults(this.name, q);
  }

  /**
   * Windows that got predictions after they were analyzed (events later than the stream
   * processor's watermark), newest first: how many, and how many no analysis has taken in yet.
   * Each endpoint's total is its `latePredictions`.
   */
  async listLateWindows(q: LateWindowQuery = {}): Promise<LateWindow[]> {
    return listLateWindows(this.platform, this.name, q);
  }

  /**
   * Hands windows that were analyzed to their apps again, so that their results (replaced, as they
   * are keyed by window) take in what came late: every window with late predictions not analyzed
   * yet (`{ late: true }`, of one endpoint with `endpointId`), or one window (`{ endpointId,
   * windowStart }`). Returns the windows handed out, per app.
   */
  async reanalyzeWindows(opts: ReanalyzeOptions): Promise<ReanalyzedWindow[]> {
    return reanalyzeWindows(this.platform, this.name, opts);
  }

  async listEvents(q: { endpointId?: string; kind?: string; since?: number; limit?: number } = {}): Promise<MonitoringEvent[]> {
    return (await this.platform.endpointStoreFor(this.name)).listEvents(this.name, q);
  }

  /**
   * Events the stream processor did not store, newest first: refused (beyond the event limits, not
   * an event, another project's) or failing to store on their own, each with the reason and the
   * event's text (see `DeadLetterRow`).
   */
  async listDeadLetters(q: DeadLetterQuery = {}): Promise<DeadLetterRow[]> {
    return (await this.platform.tsdbFor(this.name)).listDeadLetters(this.name, q);
  }

  // ---- helpers ----

  private async putFunction(f: Pick<FunctionRecord, 'name' | 'kind' | 'spec' | 'labels'>): Promise<void> {
    const now = this.platform.clock.now();
    const existing = await this.platform.store.getFunction(this.name, f.name);
    await this.platform.store.putFunction({
      project: this.name,
      ...f,
      deployed: existing?.deployed ?? false,
      status: existing?.status ?? { state: 'not-deployed' },
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    });
  }

  /** Embedded mode: a function the store lists as deployed runs in this process too. */
  private async ensureRunning(f: FunctionRecord): Promise<void> {
    if (this.runtime && !this.runtime.worker(this.name, f.name)) await this.runtime.deploy(f);
  }

  private async undeploy(name: string): Promise<void> {
    const f = await this.platform.store.getFunction(this.name, name);
    if (!f) return;
    await this.runtime?.undeploy(this.name, name);
    await this.platform.store.putFunction({ ...f, deployed: false, status: { state: 'stopped' }, updatedAt: this.platform.clock.now() });
  }

  private async removeFunctionRecord(name: string): Promise<void> {
    await this.runtime?.undeploy(this.name, name);
    this.runtime?.registry.apps.delete(`${this.name}/${name}`);
    await this.platform.store.deleteFunction(this.name, name);
  }
}

export { InvokeError };

/** A response body: JSON when it says so (or looks like it), else the text as it came. */
function parseBody(text: string, contentType: string | null): unknown {
  if (!text) return undefined;
  if (contentType?.includes('json') || /^\s*[[{]/.test(text)) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}
