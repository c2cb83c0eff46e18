import type { Insertable, Selectable, Updateable } from 'kysely';
import type { EndpointLiveMetrics, EndpointRecord, ResultKindValue, ResultStatusValue } from '../common/types.ts';
import { fromJson, num, numOrNull, toJson } from './codec.ts';
import type { FunctionRecord, FunctionStatus, ModelRecord, MonitoringEvent, ProjectRecord } from './port.ts';
import type { Database } from './schema.ts';

/* Mapping between the store's records and its rows: JSON columns, 0/1 booleans, numeric columns. */

type Row<T extends keyof Database> = Selectable<Database[T]>;

export const EMPTY_LIVE_METRICS: EndpointLiveMetrics = Object.freeze({
  predictions5m: 0,
  predictions1h: 0,
  latencyAvg5mUs: null,
  latencyAvg1hUs: null,
  predictionsPerSecond: 0,
});

/** Encodes a record as a row (project). */
export function projectToRow(p: ProjectRecord): Insertable<Database['projects']> {
  return {
    name: p.name,
    description: p.description,
    labels: toJson(p.labels),
    monitoring: p.monitoring === null ? null : toJson(p.monitoring),
    created_at: p.createdAt,
  };
}

/** Decodes a row into its record (Project). */
export function rowToProject(r: Row<'projects'>): ProjectRecord {
  return {
    name: r.name,
    description: r.description,
    labels: fromJson(r.labels, {}),
    monitoring: fromJson(r.monitoring, null),
    createdAt: num(r.created_at),
  };
}

/** Encodes the fields present in a patch (project); undefined leaves a column as is. */
export function projectPatchToRow(patch: Partial<Omit<ProjectRecord, 'name' | 'createdAt'>>): Updateable<Database['projects']> {
  const u: Updateable<Database['projects']> = {};
  if (patch.description !== undefined) u.description = patch.description;
  if (patch.labels !== undefined) u.labels = toJson(patch.labels);
  if (patch.monitoring !== undefined) u.monitoring = patch.monitoring === null ? null : toJson(patch.monitoring);
  return u;
}

/** Encodes a record as a row (function). */
export function functionToRow(f: FunctionRecord): Insertable<Database['functions']> {
  return {
    project: f.project,
    name: f.name,
    kind: f.kind,
    spec: toJson(f.spec),
    labels: toJson(f.labels),
    deployed: f.deployed ? 1 : 0,
    status: toJson(f.status),
    created_at: f.createdAt,
    updated_at: f.updatedAt,
  };
}

/** Decodes a row into its record (Function). */
export function rowToFunction(r: Row<'functions'>): FunctionRecord {
  return {
    project: r.project,
    name: r.name,
    kind: r.kind as FunctionRecord['kind'],
    spec: fromJson(r.spec, {}),
    labels: fromJson(r.labels, {}),
    deployed: num(r.deployed) !== 0,
    status: fromJson<FunctionStatus>(r.status, { state: 'not-deployed' }),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

/** Encodes a record as a row (model). */
export function modelToRow(m: ModelRecord): Insertable<Database['models']> {
  return {
    project: m.project,
    model_key: m.key,
    tag: m.tag,
    uri: m.uri,
    model_file: m.modelFile,
    class_name: m.className,
    feature_names: toJson(m.featureNames),
    label_names: toJson(m.labelNames),
    feature_stats: toJson(m.featureStats),
    labels: toJson(m.labels),
    training_set: m.trainingSet ?? null,
    created_at: m.createdAt,
  };
}

/** Decodes a row into its record (Model). */
export function rowToModel(r: Row<'models'>): ModelRecord {
  return {
    project: r.project,
    key: r.model_key,
    tag: r.tag,
    uri: r.uri,
    modelFile: r.model_file,
    className: r.class_name,
    featureNames: fromJson(r.feature_names, []),
    labelNames: fromJson(r.label_names, []),
    featureStats: fromJson(r.feature_stats, {}),
    labels: fromJson(r.labels, {}),
    ...(r.training_set ? { trainingSet: r.training_set } : {}),
    createdAt: num(r.created_at),
  };
}

/** Encodes a record as a row (endpoint). */
export function endpointToRow(e: EndpointRecord): Insertable<Database['endpoints']> {
  return {
    project: e.project,
    id: e.id,
    name: e.name,
    function: e.function,
    model: e.model,
    model_version: e.modelVersion ?? '',
    model_uri: e.modelUri ?? '',
    tag: e.tag ?? '',
    feature_names: toJson(e.featureNames ?? []),
    label_names: toJson(e.labelNames ?? []),
    feature_stats: toJson(e.featureStats ?? {}),
    current_stats: toJson(e.currentStats ?? {}),
    first_request: e.firstRequest ?? null,
    last_request: e.lastRequest ?? null,
    error_count: e.errorCount ?? 0,
    drift_status: e.driftStatus ?? 'unknown',
    drift_measures: toJson(e.driftMeasures ?? {}),
    monitoring_mode: e.monitoringMode ?? 'enabled',
    labels: toJson(e.labels ?? {}),
    metrics: toJson(e.metrics ?? EMPTY_LIVE_METRICS),
    created_at: e.createdAt,
    updated_at: e.updatedAt,
  };
}

/** Only the fields present in `patch` (undefined means "leave as is"). */
export function endpointPatchToRow(patch: Partial<Omit<EndpointRecord, 'project' | 'id'>>): Updateable<Database['endpoints']> {
  const u: Updateable<Database['endpoints']> = {};
  const p = patch;
  if (p.name !== undefined) u.name = p.name;
  if (p.function !== undefined) u.function = p.function;
  if (p.model !== undefined) u.model = p.model;
  if (p.modelVersion !== undefined) u.model_version = p.modelVersion;
  if (p.modelUri !== undefined) u.model_uri = p.modelUri;
  if (p.tag !== undefined) u.tag = p.tag;
  if (p.featureNames !== undefined) u.feature_names = toJson(p.featureNames);
  if (p.labelNames !== undefined) u.label_names = toJson(p.labelNames);
  if (p.featureStats !== undefined) u.feature_stats = toJson(p.featureStats);
  if (p.currentStats !== undefined) u.current_stats = toJson(p.currentStats);
  if (p.firstRequest !== undefined) u.first_request = p.firstRequest;
  if (p.lastRequest !== undefined) u.last_request = p.lastRequest;
  if (p.errorCount !== undefined) u.error_count = p.errorCount;
  if (p.driftStatus !== undefined) u.drift_status = p.driftStatus;
  if (p.driftMeasures !== undefined) u.drift_measures = toJson(p.driftMeasures);
  if (p.monitoringMode !== undefined) u.monitoring_mode = p.monitoringMode;
  if (p.labels !== undefined) u.labels = toJson(p.labels);
  if (p.metrics !== undefined) u.metrics = toJson(p.metrics);
  if (p.createdAt !== undefined) u.created_at = p.createdAt;
  if (p.updatedAt !== undefined) u.updated_at = p.updatedAt;
  return u;
}

/** Decodes a row into its record (Endpoint). */
export function rowToEndpoint(r: Row<'endpoints'>): EndpointRecord {
  return {
    project: r.project,
    id: r.id,
    name: r.name,
    function: r.function,
    model: r.model,
    modelVersion: r.model_version,
    modelUri: r.model_uri,
    tag: r.tag,
    featureNames: fromJson(r.feature_names, []),
    labelNames: fromJson(r.label_names, []),
    featureStats: fromJson(r.feature_stats, {}),
    currentStats: fromJson(r.current_stats, {}),
    firstRequest: numOrNull(r.first_request),
    lastRequest: numOrNull(r.last_request),
    errorCount: num(r.error_count),
    driftStatus: r.drift_status as EndpointRecord['driftStatus'],
    driftMeasures: fromJson(r.drift_measures, {}),
    monitoringMode: r.monitoring_mode as EndpointRecord['monitoringMode'],
    labels: fromJson(r.labels, {}),
    metrics: { ...EMPTY_LIVE_METRICS, ...fromJson<Partial<EndpointLiveMetrics>>(r.metrics, {}) },
    latePredictions: num(r.late_predictions),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

/** Encodes a record as a row (event). */
export function eventToRow(e: MonitoringEvent): Insertable<Database['monitoring_events']> {
  return {
    project: e.project,
    kind: e.kind,
    endpoint_id: e.endpointId,
    app: e.app,
    // '' for no result: the events' unique key (migration 007) would take nulls as all distinct.
    result_name: e.resultName ?? '',
    value: e.value !== null && Number.isFinite(e.value) ? e.value : null,
    kind_value: e.kindValue,
    status: e.status,
    window_start: e.windowStart,
    window_end: e.windowEnd,
    message: e.message,
    time: e.time,
  };
}

/** Decodes a row into its record (Event). */
export function rowToEvent(r: Row<'monitoring_events'>): MonitoringEvent {
  return {
    id: num(r.id),
    project: r.project,
    kind: r.kind,
    endpointId: r.endpoint_id,
    app: r.app,
    resultName: r.result_name === '' ? null : r.result_name,
    value: numOrNull(r.value),
    kindValue: r.kind_value === null ? null : (num(r.kind_value) as ResultKindValue),
    status: r.status === null ? null : (num(r.status) as ResultStatusValue),
    windowStart: num(r.window_start),
    windowEnd: num(r.window_end),
    message: r.message,
    time: num(r.time),
  };
}
