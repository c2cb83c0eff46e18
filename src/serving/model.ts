import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { ModelError, ValidationError, errorMessage } from '../common/errors.ts';
import type { V2Datatype } from './v2-datatype.ts';
import type { CodeRoots } from '../common/code-roots.ts';
import { importUserModule } from '../common/user-module.ts';

/**
 * The model contract: an object with `predict(rows)` and an optional `load()`.
 * `rows` are rows of feature values in feature order; `predict` returns one output per row
 * (a scalar, or an array such as class probabilities).
 */
export interface ModelClass {
  load?(): unknown | Promise<unknown>;
  predict(rows: unknown[][]): unknown[] | Promise<unknown[]>;
  /**
   * The V2 datatype of its outputs (e.g. `'INT64'` for class ids), answered in every response and
   * in the model metadata; outputs that do not fit it fail the request. Without it numbers are FP64,
   * booleans BOOL and strings BYTES, whatever their values.
   */
  readonly outputDatatype?: V2Datatype;
  /**
   * The V2 datatype its inputs take: one for every feature, or one per feature in feature order.
   * Values that do not fit get 400 before `predict` is called. Without it, a model logged with a
   * training set takes numbers for its numeric columns and strings for its categorical ones, and
   * any other model any number, string or boolean.
   */
  readonly inputDatatype?: V2Datatype | readonly V2Datatype[];
  /** Whether `null` (a missing value) may reach `predict`. @default true */
  readonly allowsMissing?: boolean;
}

/** Where a model class lives: a module file and its export (SPEC section 2, `addModel`). */
export interface ModelSpec {
  /** JS or TS module file (TS through the user's tsx, see importUserModule); relative paths resolve against `baseDir`. */
  modelPath: string;
  /** Named export to use. @default the default export (or the module itself when it exports `predict`) */
  className?: string;
  /** @default process.cwd() */
  baseDir?: string;
  /** Passed to the class constructor: `new Cls(options)`. */
  options?: Record<string, unknown>;
  /** When set, the file must lie in these roots (a server loading code for API clients). */
  codeRoots?: CodeRoots;
}

/** True when `value` fulfils the {@link ModelClass} contract. */
export function isModelClass(value: unknown): value is ModelClass {
  return typeof value === 'object' && value !== null && typeof (value as { predict?: unknown }).predict === 'function';
}

// One load per model object, however many servers or callers ask for it.
const loads = new WeakMap<ModelClass, Promise<void>>();

/**
 * Calls the model's `load()` at most once per model object and returns the same promise to
 * every caller, so a model loaded by {@link loadModelClass} is not loaded again by the server.
 * Rejects with {@link ModelError} when `load()` throws.
 */
export function ensureLoaded(model: ModelClass, name = 'model'): Promise<void> {
  let p = loads.get(model);
  if (!p) {
    p = (async () => {
      try {
        await model.load?.();
      } catch (err) {
        throw new ModelError(name, err);
      }
    })();
    loads.set(model, p);
  }
  return p;
}

/**
 * Imports a model module, takes its export, instantiates it and calls `load()` once.
 * The export may be a class (`new Cls(options)`), an object with `predict`, or a plain
 * function, which is taken as the `predict` function itself.
 * @throws ValidationError when the file or export is missing or has no `predict`;
 *   ModelError when importing, constructing or loading throws.
 */
export async function loadModelClass(spec: ModelSpec): Promise<ModelClass> {
  if (typeof spec?.modelPath !== 'string' || spec.modelPath === '') {
    throw new ValidationError('modelPath must be a non-empty string');
  }
  const given = resolve(spec.baseDir ?? process.cwd(), spec.modelPath);
  // The real path is what is judged and then imported.
  const file = spec.codeRoots ? await spec.codeRoots.resolveFile('modelPath', given) : given;
  const label = spec.className ?? basename(spec.modelPath);
  const isFile = await stat(file).then((s) => s.isFile(), () => false);
  if (!isFile) {
    throw new ValidationError(`model file '${file}' was not found (modelPath '${spec.modelPath}')`, { modelPath: spec.modelPath, file });
  }

  let mod: Record<string, unknown>;
  try {
    mod = await importUserModule(file);
  } catch (err) {
    throw new ModelError(label, new Error(`importing '${file}' failed: ${errorMessage(err)}`, { cause: err }));
  }

  const exported = pickExport(mod, spec, file);
  const model = instantiate(exported, spec, file, label);
  await ensureLoaded(model, label);
  return model;
}

function pickExport(mod: Record<string, unknown>, spec: ModelSpec, file: string): unknown {
  const names = Object.keys(mod);
  if (spec.className !== undefined) {
    if (!(spec.className in mod)) {
      throw new ValidationError(`model file '${file}' has no export '${spec.className}' (exports: ${names.join(', ') || 'none'})`);
    }
    return mod[spec.className];
  }
  if (mod.default !== undefined) return mod.default;
  if (typeof mod.predict === 'function') return mod;
  throw new ValidationError(
    `model file '${file}' has no default export; name the class with className (exports: ${names.join(', ') || 'none'})`,
  );
}

function instantiate(exported: unknown, spec: ModelSpec, file: string, label: string): ModelClass {
  const where = `export '${spec.className ?? 'default'}' of '${file}'`;
  let model: unknown = exported;
  if (typeof exported === 'function') {
    if (isConstructor(exported)) {
      try {
        model = new (exported as new (options?: Record<string, unknown>) => unknown)(spec.options ?? {});
      } catch (err) {
        throw new ModelError(label, err);
      }
    } else {
      model = { predict: exported as ModelClass['predict'] };
    }
  }
  if (!isModelClass(model)) {
    throw new ValidationError(`${where} is not a model: it needs a predict(rows) method`);
  }
  return model;
}

function isConstructor(fn: unknown): boolean {
  if (typeof fn !== 'function') return false;
  if (/^class[\s{]/.test(Function.prototype.toString.call(fn))) return true;
  // Old-style constructor functions declare predict on their prototype.
  const proto = (fn as { prototype?: unknown }).prototype;
  return typeof proto === 'object' && proto !== null && typeof (proto as { predict?: unknown }).predict === 'function';
}
