/**
 * What a served model takes as input, checked on every request before `predict`: values of the
 * wrong type get 400 with their place, rather than reaching the model and failing there as a 500.
 */
import { ValidationError } from '../common/errors.ts';
import type { FeatureStatsMap } from '../common/types.ts';
import { LIMITS, type InputLimits } from '../common/limits.ts';
import { V2_DATATYPES, fitsDatatype, isV2Datatype, type V2Datatype } from './v2-datatype.ts';

/**
 * What one feature takes: a V2 datatype, `CATEGORY` (a categorical column of the training set:
 * a string, a number or a boolean) or `ANY` (nothing is known: any of those).
 */
export type FeatureType = V2Datatype | 'CATEGORY' | 'ANY';

/** What a model takes, one type per feature in feature order, or one type for every feature. */
export interface InputSchema {
  types: readonly FeatureType[] | FeatureType;
  /** Whether `null` (a missing value) is taken. */
  allowsMissing: boolean;
  /** Where the schema comes from, for messages. */
  source: 'model' | 'training set' | 'none';
}

/** The schema of a model nothing is known about: any number, string or boolean, and null. */
export const OPEN_SCHEMA: InputSchema = { types: 'ANY', allowsMissing: true, source: 'none' };

/**
 * The feature types a training set's reference statistics tell: a numeric column takes numbers
 * (FP64), a categorical one takes strings (numbers and booleans too, compared by their text), and a
 * column that was all missing takes anything. Undefined without stats for every feature.
 */
export function typesFromFeatureStats(featureNames: readonly string[], stats: Readonly<FeatureStatsMap> | undefined): FeatureType[] | undefined {
  if (!stats || featureNames.length === 0) return undefined;
  const types: FeatureType[] = [];
  for (const name of featureNames) {
    const s = Object.hasOwn(stats, name) ? stats[name] : undefined;
    if (!s) return undefined;
    types.push(s.categories ? 'CATEGORY' : s.hist || s.mean !== undefined ? 'FP64' : 'ANY');
  }
  return types;
}

/**
 * The schema of a model: its own declaration (`inputDatatype`, `allowsMissing`) first, then the
 * types its training set tells, else {@link OPEN_SCHEMA}'s. Missing values are taken unless the
 * model says otherwise: monitoring counts them, and many models handle them.
 * @throws ValidationError for a declaration that is no V2 datatype or does not fit the features
 */
export function resolveInputSchema(
  model: { inputDatatype?: unknown; allowsMissing?: unknown },
  opts: { name: string; featureNames?: readonly string[]; trainingTypes?: readonly FeatureType[] },
): InputSchema {
  const declared = model.inputDatatype;
  const allows = model.allowsMissing;
  if (allows !== undefined && typeof allows !== 'boolean') throw new ValidationError(`model '${opts.name}' declares allowsMissing ${JSON.stringify(allows)}; use true or false`);
  const allowsMissing = allows ?? true;
  if (declared !== undefined) {
    const list = Array.isArray(declared) ? (declared as unknown[]) : [declared];
    const bad = list.find((d) => !isV2Datatype(d));
    if (list.length === 0 || bad !== undefined) {
      throw new ValidationError(`model '${opts.name}' declares inputDatatype ${JSON.stringify(declared)}: use a V2 datatype (${V2_DATATYPES.join(', ')}) or one per feature`);
    }
    const n = opts.featureNames?.length ?? 0;
    if (Array.isArray(declared) && n > 0 && list.length !== n) {
      throw new ValidationError(`model '${opts.name}' declares ${list.length} input datatypes for ${n} features (${opts.featureNames!.join(', ')})`);
    }
    return { types: Array.isArray(declared) ? (list as V2Datatype[]) : (declared as V2Datatype), allowsMissing, source: 'model' };
  }
  if (opts.trainingTypes) return { types: opts.trainingTypes, allowsMissing, source: 'training set' };
  return { ...OPEN_SCHEMA, allowsMissing };
}

/** The type of feature `c` (0-based). */
export function featureType(schema: InputSchema, c: number): FeatureType {
  return typeof schema.types === 'string' ? schema.types : (schema.types[c] ?? 'ANY');
}

/** The V2 datatype a feature's metadata shows: its own, BYTES for categories, FP64 when nothing is known. */
export function metadataDatatype(type: FeatureType): V2Datatype {
  return type === 'CATEGORY' ? 'BYTES' : type === 'ANY' ? 'FP64' : type;
}

const show = (v: unknown): string => {
  if (typeof v === 'number' && !Number.isFinite(v)) return 'a number beyond the range of FP64 (±1.8e308)';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
};

const TAKES: Partial<Record<FeatureType, string>> = {
  CATEGORY: 'a string, number or boolean',
  ANY: 'a number, string, boolean or null',
  BYTES: 'a string',
  BOOL: 'true or false',
};

/** What a type takes, in words. */
function takes(type: FeatureType): string {
  return TAKES[type] ?? `a number that fits ${type}`;
}

/**
 * Checks each value of `rows` against the schema and the limits; `where(r, c)` names a value's
 * place in the request body (`inputs[3][1]`, `inputs[0].data[7]`).
 * @throws ValidationError naming the first value that does not fit, where it is and what it should be
 */
export function checkRows(
  rows: readonly (readonly unknown[])[],
  schema: InputSchema,
  opts: { modelName: string; featureNames?: readonly string[]; where: (r: number, c: number) => string; limits?: InputLimits },
): void {
  const limits = opts.limits ?? LIMITS;
  const width = rows[0]?.length ?? 0;
  if (Array.isArray(schema.types) && schema.types.length !== width) {
    throw new ValidationError(`rows have ${width} values but model '${opts.modelName}' declares ${schema.types.length} input datatypes`);
  }
  const feature = (c: number): string => (opts.featureNames?.[c] !== undefined ? `feature '${opts.featureNames[c]}'` : `feature ${c}`);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    for (let c = 0; c < row.length; c++) {
      const v = row[c];
      if (v === null) {
        if (!schema.allowsMissing) throw new ValidationError(`${opts.where(r, c)} is null (a missing value), which model '${opts.modelName}' does not take (${feature(c)})`);
        continue;
      }
      if (typeof v === 'string' && v.length > limits.stringChars) {
        throw new ValidationError(`${opts.where(r, c)} is a string of ${v.length} characters; at most ${limits.stringChars} are taken`);
      }
      const type = featureType(schema, c);
      if (!fits(v, type)) throw new ValidationError(`${opts.where(r, c)} is ${show(v)}, but ${feature(c)} takes ${takes(type)}${why(schema, type)}`);
    }
  }
}

/** Where a feature's type comes from, for messages. */
function why(schema: InputSchema, type: FeatureType): string {
  if (schema.source === 'model') return ' (as the model declares)';
  if (schema.source === 'training set') return type === 'CATEGORY' ? ' (a categorical column in the training set)' : type === 'ANY' ? '' : ' (a numeric column in the training set)';
  return '';
}

function fits(v: unknown, type: FeatureType): boolean {
  if (type === 'CATEGORY' || type === 'ANY') {
    return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
  }
  return fitsDatatype(v, type);
}
