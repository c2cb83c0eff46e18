import type { TokenRecord } from '../auth/tokens.ts';
import type { EndpointRecord, FeatureStatsMap, ResultKindValue, ResultStatusValue } from '../common/types.ts';

/** What {@link Store.bumpEndpoint} adds to an endpoint: errors to its count; first and last request widen its span. */
export interface EndpointBump {
  errors?: number;
  firstRequest?: number;
  lastRequest?: number;
}

/**
 * The platform store: projects, functions, models, endpoints, controller state, leases,
 * monitoring events and credentials. One implementation serves every SQL engine
 * (`store/kysely-store.ts`); the backend is chosen from the connection URL. A project whose
 * credentials name an `endpointStoreConnection` keeps its endpoints, controller state and events
 * in a second Store on that URL (`Platform.endpointStoreFor`); everything else stays here.
 */
export interface Store {
  readonly url: string;
  migrate(): Promise<void>;
  close(): Promise<void>;

  createProject(p: ProjectRecord): Promise<void>;
  getProject(name: string): Promise<ProjectRecord | undefined>;
  listProjects(): Promise<ProjectRecord[]>;
  updateProject(name: string, patch: Partial<Omit<ProjectRecord, 'name' | 'createdAt'>>): Promise<void>;
  deleteProject(name: string): Promise<void>;

  putFunction(f: FunctionRecord): Promise<void>;
  getFunction(project: string, name: string): Promise<FunctionRecord | undefined>;
  listFunctions(project?: string): Promise<FunctionRecord[]>;
  deleteFunction(project: string, name: string): Promise<void>;
  /** Merges `status` into the function's status (health written by workers and the supervisor). */
  updateFunctionStatus(project: string, name: string, status: Partial<FunctionStatus>): Promise<void>;

  putModel(m: ModelRecord): Promise<void>;
  getModel(project: string, key: string, tag?: string): Promise<ModelRecord | undefined>;
  listModels(project: string): Promise<ModelRecord[]>;

  /** Inserts the endpoint if its id is new; returns true when it was created. */
  createEndpointIfMissing(e: EndpointRecord): Promise<boolean>;
  getEndpoint(project: string, id: string): Promise<EndpointRecord | undefined>;
  /** The endpoints among `ids` that exist, in no particular order (one query per few thousand ids). */
  getEndpoints(project: string, ids: readonly string[]): Promise<EndpointRecord[]>;
  listEndpoints(project: string): Promise<EndpointRecord[]>;
  /** Id and first request of the endpoints with monitoring enabled that have seen a request (what the controller plans from). */
  listMonitoredEndpoints(project: string): Promise<{ id: string; firstRequest: number }[]>;
  patchEndpoint(project: string, id: string, patch: Partial<Omit<EndpointRecord, 'project' | 'id'>>): Promise<void>;
  /** Adds to counters and widens first/last request, atomically. */
  bumpEndpoint(project: string, id: string, delta: EndpointBump): Promise<void>;
  /**
   * {@link Store.bumpEndpoint} for several endpoints in one transaction: one commit per
   * stream-processor batch rather than one per endpoint it touched. Endpoints that no longer exist
   * are skipped. Rows are updated in the order of their ids, so that two writers
   * bumping the same endpoints never wait for each other in a cycle.
   */
  bumpEndpoints(project: string, deltas: ReadonlyMap<string, EndpointBump>): Promise<void>;
  /** {@link Store.patchEndpoint} for several endpoints in one transaction; endpoints that no longer exist are skipped. */
  patchEndpoints(project: string, patches: readonly { id: string; patch: Partial<Omit<EndpointRecord, 'project' | 'id'>> }[]): Promise<void>;

  getLastAnalyzed(project: string, endpointId: string, app: string): Promise<number | undefined>;
  setLastAnalyzed(project: string, endpointId: string, app: string, windowEnd: number): Promise<void>;
  /** The last analyzed window end of every endpoint of the project for `app`, keyed by endpoint id. */
  listLastAnalyzed(project: string, app: string): Promise<Map<string, number>>;
  /** {@link Store.setLastAnalyzed} for many endpoints of one app, in one transaction. */
  setLastAnalyzedMany(project: string, app: string, windowEnds: ReadonlyMap<string, number>): Promise<void>;
  /**
   * Compare-and-set on the last analyzed marks of one app, first step of handing windows out:
   * claims, under `claimId` until `expiresAt`, each endpoint whose mark still equals its
   * `expected` (undefined: no mark yet) and that holds no live claim of another hand-out (none, or
   * one that ran out before `now`). The marks themselves do not move yet. Returns the endpoint ids
   * claimed: of concurrent calls planned from the same mark, exactly one gets each endpoint.
   */
  claimWindows(project: string, app: string, claims: readonly WindowClaim[], claimId: string, expiresAt: number, now: number): Promise<Set<string>>;
  /**
   * Moves each mark claimed under `claimId` to its claimed end and drops the claim. Returns how
   * many marks moved: a claim that ran out and was taken over by another hand-out is not moved.
   */
  completeClaims(project: string, app: string, claimId: string): Promise<number>;
  /** Drops the claims under `claimId` and leaves their marks where they were, so the windows are handed out again. */
  releaseClaims(project: string, app: string, claimId: string): Promise<void>;

  /** The end up to which the controller has closed the project's windows; undefined before the first. */
  getClosedThrough(project: string): Promise<number | undefined>;
  /** Moves the project's closed end to `end`; it never moves back. */
  setClosedThrough(project: string, end: number, now: number): Promise<void>;
  /**
   * Per endpoint among `endpointIds` that has any: the end up to which windows were handed out to
   * any app, or are being handed out (its last analyzed mark or the end of a claim on it, whichever
   * is later, the latest over the apps).
   */
  analyzedThrough(project: string, endpointIds: readonly string[]): Promise<Map<string, number>>;
  /** Adds predictions stored after their window was handed out, per window and to each endpoint's total, in one transaction. */
  addLatePredictions(project: string, late: readonly LateCount[], now: number): Promise<void>;
  /** Windows that got late predictions, newest window first. */
  listLateWindows(project: string, q?: LateWindowQuery): Promise<LateWindow[]>;
  /** Records that these windows were handed out again at `now`: the late predictions stored until then are in that analysis. */
  markReanalyzed(project: string, windows: readonly { endpointId: string; windowStart: number }[], now: number): Promise<void>;

  /**
   * Takes or renews a named lease for `holder` until `now + ttlMs`. Returns true when
   * `holder` holds it afterwards. One leader at a time among controllers.
   */
  acquireLease(name: string, holder: string, ttlMs: number, now: number): Promise<boolean>;
  releaseLease(name: string, holder: string): Promise<void>;
  /** Who holds the lease `name` at `now`; undefined when nobody does (never taken, released or run out). */
  leaseHolder(name: string, now: number): Promise<string | undefined>;

  /** Records events, each (project, endpoint, app, result name, window start, kind) once: an event already recorded is left out. */
  addEvents(events: MonitoringEvent[]): Promise<void>;
  listEvents(project: string, filter?: { endpointId?: string; kind?: string; since?: number; limit?: number }): Promise<MonitoringEvent[]>;

  getCredentials(project: string): Promise<Credentials | undefined>;
  setCredentials(project: string, creds: Credentials): Promise<void>;

  /** Stores a new API token (its hash); a token with the same id is a conflict. */
  createToken(t: TokenRecord): Promise<void>;
  getToken(id: string): Promise<TokenRecord | undefined>;
  /** Every token, revoked ones too, oldest first; with `project`, only that project's. */
  listTokens(filter?: { project?: string }): Promise<TokenRecord[]>;
  /** Marks a token revoked at `at`; false when no such token exists. A revoked token stays revoked. */
  revokeToken(id: string, at: number): Promise<boolean>;
}

/** Predictions of one endpoint's window stored after the window was handed out. */
export interface LateCount {
  endpointId: string;
  windowStart: number;
  windowEnd: number;
  predictions: number;
}

/** One window's late predictions (see {@link Store.listLateWindows}). */
export interface LateWindow {
  endpointId: string;
  windowStart: number;
  windowEnd: number;
  /** Predictions stored after the window was first handed out. */
  latePredictions: number;
  /** Of those, the ones no analysis has taken in yet (stored after the last reanalysis, or all without one). */
  pendingPredictions: number;
  firstLateAt: number;
  lastLateAt: number;
  /** When a reanalysis was last requested; null without one. */
  reanalyzedAt: number | null;
}

/** Filter of {@link Store.listLateWindows}. */
export interface LateWindowQuery {
  endpointId?: string;
  /** Only windows with predictions no analysis has taken in yet. */
  pending?: boolean;
  limit?: number;
}

/** One endpoint's windows a controller is about to hand out: from the mark `expected` (undefined: none yet) up to `end`. */
export interface WindowClaim {
  endpointId: string;
  expected: number | undefined;
  end: number;
}

export interface ProjectRecord {
  name: string;
  description: string;
  labels: Record<string, string>;
  /** Monitoring settings, present once monitoring was enabled. */
  monitoring: MonitoringSettings | null;
  createdAt: number;
}

export interface MonitoringSettings {
  enabled: boolean;
  basePeriodMinutes: number;
  /** Seconds a window waits after its end for late events. */
  graceSeconds: number;
  /** Windows one controller tick may hand out per (endpoint, app). */
  maxWindowsPerTick: number;
  enabledAt: number;
}

export type FunctionKind = 'serving' | 'monitoring-application' | 'infrastructure';

export interface FunctionRecord {
  project: string;
  name: string;
  kind: FunctionKind;
  /** Kind-specific spec: serving models and tracking, application module/class and options. */
  spec: Record<string, unknown>;
  labels: Record<string, string>;
  /** True once deployed: the platform runs it. */
  deployed: boolean;
  status: FunctionStatus;
  createdAt: number;
  updatedAt: number;
}

export interface FunctionStatus {
  state: 'not-deployed' | 'starting' | 'running' | 'crashed' | 'stopped';
  /** Serving functions: where their HTTP server listens. */
  address?: string;
  /**
   * Serving functions: the port they listen on, kept once chosen: a restarted or redeployed worker
   * listens there again unless its spec names another.
   */
  port?: number;
  /**
   * Serving functions with tracking: the tracker's counters (events sent, dropped, publish attempts
   * failed, sampled out, held now), as of the last heartbeat.
   */
  tracking?: { sent: number; dropped: number; failed: number; sampledOut: number; queued: number };
  pid?: number;
  restarts?: number;
  /** The last failure's message (the worker's own error, or how its process ended). */
  lastError?: string;
  /** The last failure's error code (`model_error`, `validation_error`, `worker_exited`, ...). */
  lastErrorCode?: string;
  heartbeatAt?: number;
  /** The deploy this state is about: the record's `updatedAt` that the worker was started for. */
  version?: number;
}

export interface ModelRecord {
  project: string;
  key: string;
  tag: string;
  /** `store://models/{project}/{key}:{tag}` */
  uri: string;
  /** Path of the model file under the artifact path, or the module to import. */
  modelFile: string | null;
  /** Optional: the class exported by `modelFile`. */
  className: string | null;
  featureNames: string[];
  labelNames: string[];
  featureStats: FeatureStatsMap;
  labels: Record<string, string>;
  /**
   * The training set's used columns (features, then labels) kept as Parquet: its path under the
   * artifact path. Absent for models logged before training sets were kept.
   */
  trainingSet?: string;
  createdAt: number;
}

/** An event raised by the writer (`data-drift-detected`, `mm-app-failed`, ...). */
export interface MonitoringEvent {
  id?: number;
  project: string;
  kind: string;
  endpointId: string;
  app: string;
  resultName: string | null;
  value: number | null;
  kindValue: ResultKindValue | null;
  status: ResultStatusValue | null;
  windowStart: number;
  windowEnd: number;
  message: string;
  time: number;
}

export interface Credentials {
  endpointStoreConnection?: string;
  tsdbConnection?: string;
  streamPath?: string;
}
