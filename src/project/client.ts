import fs from 'node:fs/promises';
import path from 'node:path';
import type { CreatedToken, Role, TokenView } from '../auth/tokens.ts';
import { ModelwatchError, NotFoundError, ValidationError, reviveError } from '../common/errors.ts';
import type { EndpointRecord } from '../common/types.ts';
import type { Credentials, FunctionRecord, LateWindow, LateWindowQuery, ModelRecord, MonitoringEvent, MonitoringSettings, ProjectRecord } from '../store/port.ts';
import type { DeadLetterQuery, DeadLetterRow, MetricRow, ResultRow, SeriesQuery } from '../store/tsdb-port.ts';
import { MonitoringFunction, ServingFunction, type MonitoringFunctionOptions } from './functions.ts';
import type { ReanalyzedWindow, ReanalyzeOptions } from '../pipeline/controller/reanalyze.ts';
import { checkLogModelCall } from './log-model-checks.ts';
import type { CredentialsView, DisableMonitoringOptions, EnableMonitoringOptions, LogModelOptions } from './project.ts';
import { RESERVED_FUNCTION_NAMES } from '../common/names.ts';
import { DEFAULT_DEPLOY_TIMEOUT_SECONDS, type DeployOptions } from './deploy-state.ts';
import type { ListEndpointsOptions } from './endpoint-summary.ts';

/** The slice of `fetch` the client uses; the CLI passes an in-process one. */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal },
) => Promise<{ status: number; ok: boolean; text(): Promise<string> }>;

/** Options of {@link connect}. */
export interface ConnectOptions {
  /** Base URL of a modelwatch server, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** @default globalThis.fetch */
  fetch?: FetchLike;
  /** A request not answered by then fails. @default 60_000 */
  timeoutMs?: number;
}

type Query = Record<string, string | number | undefined>;

/** Sends REST calls and turns error answers back into {@link ModelwatchError}s. */
class Transport {
  private readonly base: string;
  private readonly fetch: FetchLike;

  constructor(private readonly opts: ConnectOptions) {
    // Accept both `http://host:8080` and `http://host:8080/api/v1`.
    this.base = opts.url.replace(/\/+$/, '').replace(/\/api\/v1$/, '') + '/api/v1';
    this.fetch = opts.fetch ?? (globalThis.fetch as unknown as FetchLike);
  }

  /** `timeoutMs` overrides {@link ConnectOptions.timeoutMs} for calls that wait on purpose (deploy). */
  async request<T>(method: string, urlPath: string, body?: unknown, query?: Query, timeoutMs?: number): Promise<T> {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') qs.set(k, String(v));
    const url = `${this.base}${urlPath}${qs.size ? `?${qs.toString()}` : ''}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
    // The server refuses state changes without it (even bodiless ones), so that web pages cannot make them.
    if (body !== undefined || method !== 'GET') headers['content-type'] = 'application/json';
    let res: Awaited<ReturnType<FetchLike>>;
    try {
      res = await this.fetch(url, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(timeoutMs ?? this.opts.timeoutMs ?? 60_000),
      });
    } catch (err) {
      const cause = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
      throw new ModelwatchError('connection_failed', `could not reach the modelwatch server at ${this.opts.url}: ${cause}`, { httpStatus: 503, retryable: true, cause: err });
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const e = (parsed ?? {}) as { error?: string; message?: string; details?: Record<string, unknown> };
      // The class the server threw, rebuilt from its code: both modes throw alike.
      throw reviveError(e.error ?? 'http_error', e.message ?? `${method} ${urlPath} answered ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}`, {
        httpStatus: res.status,
        retryable: res.status >= 500,
        ...(e.details ? { details: e.details } : {}),
      });
    }
    return parsed as T;
  }
}

const seg = encodeURIComponent;

/**
 * Connected mode: the SDK over a running modelwatch server's REST API. Methods mirror
 * `Modelwatch` and `Project` (same names and arguments); results are plain JSON.
 */
export class RemoteClient {
  private readonly http: Transport;

  constructor(opts: ConnectOptions) {
    this.http = new Transport(opts);
  }

  /** The server's version, and whether a supervisor runs its deployed functions. */
  async health(): Promise<{ status: string; version: string; supervisor: boolean }> {
    return this.http.request('GET', '/health');
  }

  async createProject(name: string, opts: { description?: string; labels?: Record<string, string> } = {}): Promise<RemoteProject> {
    await this.http.request<ProjectRecord>('POST', '/projects', { name, ...opts });
    return new RemoteProject(name, this.http);
  }

  /** @throws ModelwatchError `not_found` when the project does not exist. */
  async getProject(name: string): Promise<RemoteProject> {
    await this.http.request<ProjectRecord>('GET', `/projects/${seg(name)}`);
    return new RemoteProject(name, this.http);
  }

  async getOrCreateProject(name: string, opts: { description?: string; labels?: Record<string, string> } = {}): Promise<RemoteProject> {
    try {
      return await this.getProject(name);
    } catch (err) {
      if (err instanceof ModelwatchError && err.code === 'not_found') return this.createProject(name, opts);
      throw err;
    }
  }

  async listProjects(): Promise<ProjectRecord[]> {
    return this.http.request('GET', '/projects');
  }

  /** Deletes the project with its functions, models, endpoints and credentials. */
  async deleteProject(name: string): Promise<void> {
    await this.http.request('DELETE', `/projects/${seg(name)}`);
  }

  /** The server's API tokens, revoked ones too (no secrets); an admin token of a project sees that project's. Needs an admin token. */
  async listTokens(): Promise<TokenView[]> {
    return this.http.request('GET', '/tokens');
  }

  /** Creates an API token; the answer holds the token, which is shown this once. Needs an admin token. */
  async createToken(opts: { name: string; role: Role; project?: string }): Promise<CreatedToken> {
    return this.http.request('POST', '/tokens', opts);
  }

  /** Revokes an API token at once (every server sharing the store refuses it from the next request). Needs an admin token. */
  async revokeToken(id: string): Promise<TokenView> {
    return this.http.request('DELETE', `/tokens/${seg(id)}`);
  }

  /** Nothing to release (no pooled state); present so callers treat both modes alike. */
  async close(): Promise<void> {}
}

/** A project on a modelwatch server; see `Project` for what each call does. */
export class RemoteProject {
  /** @internal Remote projects come from {@link RemoteClient}. */
  constructor(
    readonly name: string,
    private readonly http: Transport,
  ) {}

  private path(rest = ''): string {
    return `/projects/${seg(this.name)}${rest}`;
  }

  async record(): Promise<ProjectRecord> {
    return this.http.request('GET', this.path());
  }

  // ---- monitoring infrastructure ----

  async enableModelMonitoring(opts: EnableMonitoringOptions = {}): Promise<MonitoringSettings> {
    return this.http.request('POST', this.path('/monitoring/enable'), opts);
  }

  async updateModelMonitoringController(opts: { basePeriod: number }): Promise<void> {
    await this.http.request('POST', this.path('/monitoring/controller'), opts);
  }

  async disableModelMonitoring(opts: DisableMonitoringOptions = {}): Promise<void> {
    await this.http.request('POST', this.path('/monitoring/disable'), opts);
  }

  // ---- monitoring applications ----

  /** Builds the function locally (nothing is sent); `application` should be a module file. */
  createModelMonitoringFunction(opts: MonitoringFunctionOptions): MonitoringFunction {
    if ((RESERVED_FUNCTION_NAMES as readonly string[]).includes(opts.name)) {
      throw new ValidationError(`'${opts.name}' is a reserved function name (${RESERVED_FUNCTION_NAMES.join(', ')})`);
    }
    return new MonitoringFunction(this.name, opts);
  }

  async setModelMonitoringFunction(opts: MonitoringFunctionOptions): Promise<FunctionRecord> {
    const fn = this.createModelMonitoringFunction(opts);
    return this.putApplication(fn);
  }

  async listModelMonitoringFunctions(filter: { name?: string; labels?: Record<string, string> } = {}): Promise<FunctionRecord[]> {
    const all = await this.http.request<FunctionRecord[]>('GET', this.path('/functions'), undefined, { kind: 'monitoring-application' });
    return all.filter((f) => (!filter.name || f.name === filter.name) && Object.entries(filter.labels ?? {}).every(([k, v]) => f.labels[k] === v));
  }

  async removeModelMonitoringFunction(names: string | string[]): Promise<void> {
    for (const name of Array.isArray(names) ? names : [names]) {
      const f = await this.getFunction(name).catch((err: unknown) => {
        throw err instanceof NotFoundError ? new NotFoundError('monitoring function', name) : err;
      });
      if (f.kind !== 'monitoring-application') throw new NotFoundError('monitoring function', name);
      await this.deleteFunction(name);
    }
  }

  // ---- credentials ----

  async setModelMonitoringCredentials(creds: Credentials & { replace?: boolean }): Promise<CredentialsView & { notAvailable: string[] }> {
    return this.http.request('PUT', this.path('/credentials'), creds);
  }

  async getModelMonitoringCredentials(): Promise<CredentialsView> {
    return this.http.request('GET', this.path('/credentials'));
  }

  // ---- models ----

  /**
   * Logs a model. The training set is read here (files included) and sent as columns with their
   * order (a JSON object would put integer-like names first); the server keeps it as the model's
   * training set. In transit NaN and ±Infinity become null, missing either way. A `modelFile` is
   * read here and uploaded.
   */
  async logModel(key: string, opts: LogModelOptions): Promise<ModelRecord> {
    checkLogModelCall(key, opts);
    const { trainingSet, columns, modelFile, ...rest } = opts;
    const { toColumns } = await import('../data/tabular.ts');
    const table = await toColumns(trainingSet, columns ? { columns } : {});
    const body: Record<string, unknown> = { ...rest, trainingSet: table.columns, columns: table.names };
    if (modelFile) body.modelFile = { name: path.basename(modelFile), base64: (await fs.readFile(modelFile)).toString('base64') };
    return this.http.request('POST', this.path(`/models/${seg(key)}`), body);
  }

  async getModel(key: string, tag = 'latest'): Promise<ModelRecord> {
    return this.http.request('GET', this.path(`/models/${seg(key)}`), undefined, { tag });
  }

  async listModels(): Promise<ModelRecord[]> {
    return this.http.request('GET', this.path('/models'));
  }

  // ---- serving and functions ----

  /** A serving function to configure (loaded from the server when it exists); then `deployFunction(fn)`. */
  async setFunction(name: string, opts: { kind: 'serving'; source?: string } = { kind: 'serving' }): Promise<ServingFunction> {
    if ((RESERVED_FUNCTION_NAMES as readonly string[]).includes(name)) throw new ValidationError(`'${name}' is a reserved function name`);
    if (opts.kind !== 'serving') throw new ValidationError(`setFunction supports kind 'serving', got '${String(opts.kind)}'`);
    let existing: FunctionRecord | undefined;
    try {
      existing = await this.getFunction(name);
    } catch (err) {
      if (!(err instanceof ModelwatchError && err.code === 'not_found')) throw err;
    }
    const fn = new ServingFunction(this.name, name, existing?.kind === 'serving' ? (existing.spec as never) : opts.source ? { source: opts.source } : undefined);
    fn.invoker = (f, p, b) => this.invoke(f.name, p, b);
    return fn;
  }

  /**
   * Registers (when given a function object) and deploys: the server's supervisor runs it, and this
   * returns once its worker reports running, or throws the worker's own error (see {@link DeployOptions}).
   */
  async deployFunction(fn: string | ServingFunction | MonitoringFunction, opts: DeployOptions = {}): Promise<FunctionRecord> {
    let name: string;
    if (typeof fn === 'string') name = fn;
    else if (fn instanceof ServingFunction) {
      await this.saveFunction(fn);
      name = fn.name;
    } else {
      await this.putApplication(fn);
      name = fn.name;
    }
    const waitMs = (opts.timeoutSeconds ?? DEFAULT_DEPLOY_TIMEOUT_SECONDS) * 1000;
    // The server answers when the worker runs: the request may take the whole wait, and then some.
    return this.http.request('POST', this.path(`/functions/${seg(name)}/deploy`), opts, undefined, opts.wait === false ? undefined : waitMs + 30_000);
  }

  /**
   * Registers a serving function or monitoring app without deploying it (connected mode
   * only: embedded code registers apps with `setModelMonitoringFunction`). A deployed
   * function is restarted on the new spec.
   */
  async saveFunction(fn: ServingFunction | MonitoringFunction, opts: { labels?: Record<string, string> } = {}): Promise<FunctionRecord> {
    if (fn instanceof MonitoringFunction) return this.putApplication(fn);
    if (fn.inProcessModels.size) throw new ValidationError('a model passed as a class cannot be sent to a server; name its module with modelPath');
    return this.http.request('PUT', this.path(`/functions/${seg(fn.name)}`), { kind: 'serving', spec: fn.spec, ...(opts.labels ? { labels: opts.labels } : {}) });
  }

  /** Stops a deployed function and keeps its registration. */
  async undeployFunction(name: string): Promise<FunctionRecord> {
    return this.http.request('POST', this.path(`/functions/${seg(name)}/undeploy`), {});
  }

  /** Removes a serving function or monitoring app from the project. */
  async deleteFunction(name: string): Promise<void> {
    await this.http.request('DELETE', this.path(`/functions/${seg(name)}`));
  }

  async getFunction(name: string): Promise<FunctionRecord> {
    return this.http.request('GET', this.path(`/functions/${seg(name)}`));
  }

  async listFunctions(filter: { kind?: FunctionRecord['kind'] } = {}): Promise<FunctionRecord[]> {
    return this.http.request('GET', this.path('/functions'), undefined, { kind: filter.kind });
  }

  /** Sends a request to a deployed serving function through the server. */
  async invoke(functionName: string, urlPath: string, body?: unknown): Promise<unknown> {
    return this.http.request('POST', this.path(`/functions/${seg(functionName)}/invoke`), { path: urlPath, ...(body === undefined ? {} : { body }) });
  }

  // ---- endpoints and results ----

  async listModelEndpoints(opts: ListEndpointsOptions = {}): Promise<EndpointRecord[]> {
    return this.http.request('GET', this.path('/endpoints'), undefined, opts.full ? { full: 'true' } : undefined);
  }

  async getModelEndpoint(id: string): Promise<EndpointRecord> {
    return this.http.request('GET', this.path(`/endpoints/${seg(id)}`));
  }

  async listResults(q: SeriesQuery = {}): Promise<ResultRow[]> {
    return this.http.request('GET', this.path('/results'), undefined, seriesParams(q));
  }

  async listMetrics(q: SeriesQuery = {}): Promise<MetricRow[]> {
    return this.http.request('GET', this.path('/metrics'), undefined, seriesParams(q));
  }

  async latestResults(q: { endpointId?: string; app?: string } = {}): Promise<ResultRow[]> {
    return this.http.request('GET', this.path('/results/latest'), undefined, { endpoint: q.endpointId, app: q.app });
  }

  async listEvents(q: { endpointId?: string; kind?: string; since?: number; limit?: number } = {}): Promise<MonitoringEvent[]> {
    return this.http.request('GET', this.path('/events'), undefined, { endpoint: q.endpointId, kind: q.kind, since: q.since, limit: q.limit });
  }

  async listLateWindows(q: LateWindowQuery = {}): Promise<LateWindow[]> {
    return this.http.request('GET', this.path('/late-windows'), undefined, { endpoint: q.endpointId, pending: q.pending ? 'true' : undefined, limit: q.limit });
  }

  async reanalyzeWindows(opts: ReanalyzeOptions): Promise<ReanalyzedWindow[]> {
    return this.http.request('POST', this.path('/reanalyze'), opts);
  }

  async listDeadLetters(q: DeadLetterQuery = {}): Promise<DeadLetterRow[]> {
    return this.http.request('GET', this.path('/dead-letters'), undefined, { endpoint: q.endpointId, since: q.since, limit: q.limit });
  }

  private async putApplication(fn: MonitoringFunction): Promise<FunctionRecord> {
    const application = fn.applicationRef;
    if (fn.inProcess || !application) throw new ValidationError(`monitoring function '${fn.name}': a class cannot be sent to a server; name its module file (or a built-in app) in application`);
    return this.http.request('PUT', this.path(`/functions/${seg(fn.name)}`), {
      kind: 'monitoring-application',
      application,
      ...(fn.spec.className ? { className: fn.spec.className } : {}),
      options: fn.spec.options ?? {},
      labels: fn.labels,
    });
  }
}

function seriesParams(q: SeriesQuery): Query {
  return { endpoint: q.endpointId, app: q.app, name: q.name, start: q.start, end: q.end, limit: q.limit };
}

/** Connects to a modelwatch server: `connect({ url: 'http://127.0.0.1:8080', token })`. */
export function connect(opts: ConnectOptions): RemoteClient {
  if (!opts?.url || !/^https?:\/\//.test(opts.url)) throw new ValidationError(`connect needs an http(s) url, got '${String(opts?.url)}'`);
  return new RemoteClient(opts);
}
