import { ApplicationError, ModelwatchError, ValidationError, errorMessage } from '../common/errors.ts';
import { importUserModule } from '../common/user-module.ts';
import { isApplicationClass, type MonitoringApplication } from './base.ts';

/**
 * Where an application's code comes from: a built-in app by name, or a module file (already
 * resolved and checked by the caller) and its export.
 */
export type AppSource = { builtin: string } | { module: string; className?: string; as?: string };

/**
 * Imports and builds an application (on the thread it runs in, see app-thread.ts).
 * @throws ValidationError for an unknown built-in or a module without an application class;
 *   ApplicationError when the module cannot be imported or the app's constructor throws
 */
export async function loadApplication(appName: string, source: AppSource, options: Record<string, unknown>): Promise<MonitoringApplication> {
  if ('builtin' in source) {
    // Loaded only here: the thread of a module-file app does without the built-ins' code.
    const { BUILTIN_APPLICATIONS } = await import('./builtin.ts');
    const Builtin = Object.hasOwn(BUILTIN_APPLICATIONS, source.builtin) ? BUILTIN_APPLICATIONS[source.builtin] : undefined;
    if (!Builtin) throw new ValidationError(`application '${appName}' names the built-in '${source.builtin}', which does not exist (${Object.keys(BUILTIN_APPLICATIONS).join(', ')})`);
    return construct(appName, () => new Builtin(options));
  }
  const named = source.as ?? source.module;
  let mod: Record<string, unknown>;
  try {
    mod = await importUserModule(source.module);
  } catch (err) {
    throw new ApplicationError(appName, `could not import module '${named}': ${errorMessage(err)}`, err);
  }
  const exported = source.className ? mod[source.className] : (mod.default ?? Object.values(mod).find(isApplicationClass));
  if (!isApplicationClass(exported)) {
    throw new ValidationError(`'${named}' exports no monitoring application class${source.className ? ` named '${source.className}'` : ''}`);
  }
  return construct(appName, () => new exported(options));
}

/** An app's constructor that throws (bad options, say) fails as that app's error. */
export function construct(app: string, make: () => MonitoringApplication): MonitoringApplication {
  try {
    return make();
  } catch (err) {
    if (err instanceof ModelwatchError) throw err;
    throw new ApplicationError(app, errorMessage(err), err);
  }
}
