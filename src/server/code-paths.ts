import path from 'node:path';
import { isBuiltinApplication } from '../apps/builtin.ts';
import { CodeRoots, resolveDataFile } from '../common/code-roots.ts';
import { ValidationError, errorMessage } from '../common/errors.ts';
import { DATA_DRIFT_REPORT_APP } from '../common/names.ts';
import { isInside, realPathLoose, show } from '../common/safe-path.ts';
import type { ServingSpec } from '../project/serving-worker.ts';
import type { Platform } from '../project/platform.ts';
import { parseConnectionUrl, type ConnectionRole } from '../store/connect.ts';

/*
 * Paths that arrive through the REST API are checked where they arrive, whatever mode the server
 * runs in: code against the code roots, data files against the artifact path, database files
 * against the home folder. The workers check code and data again before they load anything (the
 * store may hold records written by other means, and workers may run with roots of their own).
 */

const defaults = new WeakMap<Platform, CodeRoots>();

/**
 * The roots code named over the API must lie in: the platform's (`modelwatch up --code-root`),
 * else the working folder (the CLI acting on a home folder in-process).
 */
export function restCodeRoots(platform: Platform): CodeRoots {
  if (platform.codeRoots) return platform.codeRoots;
  let roots = defaults.get(platform);
  if (!roots) {
    try {
      roots = CodeRoots.resolve([process.cwd()], platform.options);
    } catch (err) {
      throw new ValidationError(`code paths are checked against the working folder (${process.cwd()}), which cannot hold code: ${errorMessage(err)}; run from your project's folder`);
    }
    defaults.set(platform, roots);
  }
  return roots;
}

/** A serving function's module files (`modelPath` of each model, `source`) and its tracking stream. */
export async function checkServingPaths(platform: Platform, spec: ServingSpec): Promise<void> {
  const roots = restCodeRoots(platform);
  for (const m of spec.models) if (m.modelPath) await roots.check('modelPath', m.modelPath);
  if (spec.source) await roots.check('source', spec.source);
  if (spec.tracking?.streamPath) await checkFileUrl(platform, spec.tracking.streamPath, 'stream', 'tracking.streamPath');
}

/** A monitoring application's module file, and the data-drift-report app's `referencePath`. */
export async function checkApplicationPaths(platform: Platform, application: string, options: Record<string, unknown> | undefined): Promise<void> {
  if (!isBuiltinApplication(application)) {
    await restCodeRoots(platform).check('application', application);
    return;
  }
  const ref = options?.referencePath;
  if (application === DATA_DRIFT_REPORT_APP && ref !== undefined) {
    if (typeof ref !== 'string') throw new ValidationError('referencePath must be a path');
    await resolveDataFile('referencePath', ref, platform.options);
  }
}

/**
 * A connection URL given over the API that names a file (SQLite, the embedded stream log) must
 * name an absolute path inside the home folder: the server would create it otherwise anywhere its
 * user may write. Server URLs (PostgreSQL, MySQL, NATS, Kafka) pass.
 */
export async function checkFileUrl(platform: Platform, url: string, role: ConnectionRole, field: string): Promise<void> {
  const parsed = parseConnectionUrl(url, role);
  if (parsed.path === undefined || parsed.path === ':memory:') return;
  const home = await realPathLoose(platform.options.home);
  const refuse = (why: string): ValidationError =>
    new ValidationError(`${field} ${show(parsed.path)} is refused: ${why}. A database file named over the API must lie in the home folder (${home})`, { [field]: parsed.path, home });
  const file = parsed.path;
  if (file.includes('\0')) throw refuse('it holds a NUL character');
  if (file.startsWith('file:') || file.startsWith(':')) throw refuse('SQLite URI and special names are not accepted');
  if (!path.isAbsolute(file)) throw refuse('give an absolute path');
  const real = await realPathLoose(file);
  if (!isInside(real, home) || real === home) throw refuse('it is outside the home folder');
}
