import { ConflictError, NotFoundError, ValidationError } from '../common/errors.ts';
import { RESERVED_FUNCTION_NAMES, checkFunctionName, checkProjectName } from '../common/names.ts';
import { ServingFunction, checkServingExposure, locateServingCode } from '../project/functions.ts';
import type { Platform } from '../project/platform.ts';
import { Project } from '../project/project.ts';
import type { ModelSpec, ServingSpec } from '../project/serving-worker.ts';
import type { FunctionRecord, ProjectRecord } from '../store/port.ts';
import { checkServingPaths } from './code-paths.ts';

/*
 * Operations the REST API offers that `Project` leaves to the embedded `Modelwatch` (project
 * lifecycle) or has no call for (saving a serving function without deploying it, undeploying).
 * The server has no in-process runtime: the supervisor notices every change in the store.
 */

/** A project the server acts on, after checking it exists (404 otherwise). */
export async function openProject(platform: Platform, name: string): Promise<Project> {
  if (!(await platform.store.getProject(name))) throw new NotFoundError('project', name);
  return new Project(name, platform);
}

export async function createProject(platform: Platform, opts: { name: string; description?: string; labels?: Record<string, string> }): Promise<ProjectRecord> {
  checkProjectName(opts.name);
  if (await platform.store.getProject(opts.name)) throw new ConflictError(`project '${opts.name}' exists`);
  const rec: ProjectRecord = { name: opts.name, description: opts.description ?? '', labels: opts.labels ?? {}, monitoring: null, createdAt: platform.clock.now() };
  await platform.store.createProject(rec);
  return rec;
}

/** Deletes the project and its functions (the supervisor then stops their workers), models, endpoints (wherever its credentials keep them) and credentials. */
export async function deleteProject(platform: Platform, name: string): Promise<void> {
  if (!(await platform.store.getProject(name))) throw new NotFoundError('project', name);
  await platform.deleteProject(name);
}

/**
 * Registers a serving function from a spec sent over the wire. Every model goes through
 * `addModel` again so that a remote spec is held to the same rules as one built in code.
 * A deployed function is redeployed (its workers restart on the new spec).
 */
export async function saveServingFunction(platform: Platform, project: string, name: string, spec: Partial<ServingSpec>, labels: Record<string, string> = {}): Promise<FunctionRecord> {
  checkFunctionName(name);
  if ((RESERVED_FUNCTION_NAMES as readonly string[]).includes(name)) throw new ValidationError(`'${name}' is a reserved function name`);
  if (!Array.isArray(spec.models) || spec.models.length === 0) throw new ValidationError('a serving function needs spec.models with at least one model');
  const fn = new ServingFunction(project, name, {
    ...(typeof spec.source === 'string' ? { source: spec.source } : {}),
    ...(typeof spec.host === 'string' ? { host: spec.host } : {}),
    ...(typeof spec.port === 'number' ? { port: spec.port } : {}),
    ...(spec.requireToken === true ? { requireToken: true } : {}),
  });
  for (const m of (spec.models ?? []) as Partial<ModelSpec>[]) {
    if (!m || typeof m.name !== 'string') throw new ValidationError('every model in spec.models needs a name');
    if (m.inProcess) throw new ValidationError(`model '${m.name}' was given as a class; over the API name its module with modelPath`);
    fn.addModel(m.name, {
      ...(m.modelPath ? { modelPath: m.modelPath } : {}),
      ...(m.className ? { className: m.className } : {}),
      ...(m.modelUri ? { modelUri: m.modelUri } : {}),
      ...(m.version ? { version: m.version } : {}),
      ...(m.options ? { options: m.options } : {}),
    });
  }
  checkServingExposure(fn.spec);
  if (spec.tracking?.enabled) {
    fn.setTracking({
      samplingPercentage: spec.tracking.samplingPercentage ?? 100,
      ...(spec.tracking.streamPath ? { streamPath: spec.tracking.streamPath } : {}),
      ...(spec.tracking.durable !== undefined ? { durable: spec.tracking.durable } : {}),
    });
  }
  // After the SDK's own checks, so that both modes word those alike.
  const located = locateServingCode(fn.spec, (f) => platform.codePath(f));
  await checkServingPaths(platform, located);
  const existing = await platform.store.getFunction(project, name);
  if (existing && existing.kind !== 'serving') throw new ConflictError(`function '${name}' exists and is a ${existing.kind} function`);
  const now = platform.clock.now();
  const rec: FunctionRecord = {
    project,
    name,
    kind: 'serving',
    spec: (await platform.secrets.sealServingSpec(located, existing?.spec)) as unknown as Record<string, unknown>,
    labels,
    deployed: existing?.deployed ?? false,
    status: existing?.deployed ? { ...existing.status, state: 'starting' } : (existing?.status ?? { state: 'not-deployed' }),
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
  };
  await platform.store.putFunction(rec);
  return platform.secrets.redactFunction(rec);
}

/** Marks a function not deployed; its workers stop. */
export async function undeployFunction(platform: Platform, project: string, name: string): Promise<FunctionRecord> {
  const f = await platform.store.getFunction(project, name);
  if (!f) throw new NotFoundError('function', name);
  const rec: FunctionRecord = { ...f, deployed: false, status: { state: 'stopped' }, updatedAt: platform.clock.now() };
  await platform.store.putFunction(rec);
  return platform.secrets.redactFunction(rec);
}

/** Removes a serving function or monitoring app; infrastructure goes through `monitoring disable`. */
export async function removeFunction(platform: Platform, project: Project, name: string): Promise<void> {
  const f = await platform.store.getFunction(project.name, name);
  if (!f) throw new NotFoundError('function', name);
  if (f.kind === 'infrastructure') throw new ConflictError(`'${name}' is an infrastructure function; disable monitoring to stop it`);
  if (f.kind === 'monitoring-application') return project.removeModelMonitoringFunction(name);
  await platform.store.deleteFunction(project.name, name);
}
