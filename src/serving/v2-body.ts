import { ValidationError } from '../common/errors.ts';
import { LIMITS, type InputLimits } from '../common/limits.ts';
import { OPEN_SCHEMA, checkRows, type InputSchema } from './input-schema.ts';
import { V2_DATATYPES, fitsDatatype, isV2Datatype, type V2Datatype } from './v2-datatype.ts';

/** A parsed inference request: rows of feature values, in feature order. */
export interface ParsedInferenceRequest {
  /** The request's `id`, when the client sent one. */
  id?: string;
  /** One row per prediction; every row has the same width. */
  rows: unknown[][];
  /** Names of the row values, when the body carried them (several tensors, or row objects). */
  featureNames?: string[];
  parameters?: Record<string, unknown>;
}

/** What the parser knows about the model. */
export interface ParseOptions {
  /** The model's feature names: fixes the row width and the order of named inputs. */
  featureNames?: readonly string[];
  /** What each feature takes. @default OPEN_SCHEMA: any number, string, boolean or null */
  schema?: InputSchema;
  /** For messages. @default 'model' */
  modelName?: string;
  /** @default LIMITS */
  limits?: InputLimits;
}

/** Where a value of the parsed rows sits in the request body, for messages. */
type Where = (r: number, c: number) => string;

/** One output tensor of a V2 response. */
export interface V2OutputTensor {
  name: string;
  shape: number[];
  datatype: V2Datatype;
  data: unknown[];
}

/** A V2 inference response body. */
export interface V2InferenceResponse {
  model_name: string;
  model_version?: string;
  id: string;
  outputs: V2OutputTensor[];
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
// An element of `inputs` is a tensor when it has data plus a datatype or shape; anything else
// that is an object is a row object. A row with features named `data` and `shape` is not expected.
const isTensor = (v: unknown): v is Json => isObject(v) && 'data' in v && ('datatype' in v || 'shape' in v);
const show = (v: unknown): string => {
  if (typeof v === 'number' && !Number.isFinite(v)) return 'a number beyond the range of FP64 (±1.8e308)';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
};

/**
 * Parses an Open Inference Protocol (KServe V2) request body into rows. Accepts:
 * - one tensor `{ name, shape: [N, F], datatype, data }` (data flat or nested) → N rows;
 *   one tensor of shape `[N]` → N rows of one value;
 * - several tensors of shape `[N]` or `[N, 1]` → one column each, named by the tensor
 *   (reordered to the model's feature order when the model declares feature names);
 * - the short form `{ inputs: [[...], ...] }` (rows of values);
 * - row objects `{ inputs: [{ feature: value, ... }, ...] }`.
 *
 * Then every value is checked against the model's {@link InputSchema} (`null` is a missing value),
 * and the request against the {@link LIMITS} (rows, features, string lengths).
 * @throws ValidationError naming what is wrong and where (e.g. `inputs[0].shape [2,3] needs 6 values, got 5`,
 *   `inputs[3][1] is "abc", but feature 'temp' takes a number that fits FP64`).
 */
export function parseInferenceRequest(body: unknown, opts: ParseOptions = {}): ParsedInferenceRequest {
  if (!isObject(body)) throw new ValidationError(`the request body must be a JSON object with 'inputs', got ${show(body)}`);
  const limits = opts.limits ?? LIMITS;
  const { id, inputs, parameters } = body;
  if (id !== undefined && typeof id !== 'string') throw new ValidationError(`'id' must be a string, got ${show(id)}`);
  if (id !== undefined && id.length > limits.requestIdChars) throw new ValidationError(`'id' has ${id.length} characters; at most ${limits.requestIdChars} are taken`);
  if (parameters !== undefined && !isObject(parameters)) throw new ValidationError(`'parameters' must be an object`);
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw new ValidationError(`'inputs' must be a non-empty array (tensors, rows or row objects)`);
  }

  const first = inputs[0];
  const kind = isTensor(first) ? 'tensor' : Array.isArray(first) ? 'row' : isObject(first) ? 'object' : undefined;
  if (!kind) {
    throw new ValidationError(
      `inputs[0] must be a tensor, a row (array) or a row object, got ${show(first)}; send one row as [[...]]`,
    );
  }
  inputs.forEach((item, i) => {
    const k = isTensor(item) ? 'tensor' : Array.isArray(item) ? 'row' : isObject(item) ? 'object' : 'other';
    if (k !== kind) throw new ValidationError(`inputs[${i}] is not a ${kind} like inputs[0]: use one form for all inputs`);
  });

  if (kind !== 'tensor' && inputs.length > limits.rowsPerRequest) {
    throw new ValidationError(`inputs has ${inputs.length} rows; a request takes at most ${limits.rowsPerRequest}`);
  }
  const { where, ...parsed }: { rows: unknown[][]; featureNames?: string[]; where: Where } =
    kind === 'tensor' ? fromTensors(inputs as Json[], opts, limits) : kind === 'row' ? fromRows(inputs as unknown[][], opts, limits) : fromObjects(inputs as Json[], opts, limits);
  const names = parsed.featureNames ?? opts.featureNames;
  checkRows(parsed.rows, opts.schema ?? OPEN_SCHEMA, { modelName: opts.modelName ?? 'model', where, limits, ...(names && names.length > 0 ? { featureNames: names } : {}) });
  return { ...(id !== undefined ? { id } : {}), ...parsed, ...(parameters ? { parameters } : {}) };
}

function checkFeatureCount(width: number, limits: InputLimits, what: string): void {
  if (width > limits.featuresPerRow) throw new ValidationError(`${what} ${width} values per row; a row takes at most ${limits.featuresPerRow}`);
}

function checkFeatureName(name: string, limits: InputLimits, what: string): void {
  if (name.length > limits.featureNameChars) throw new ValidationError(`${what} is a name of ${name.length} characters; at most ${limits.featureNameChars} are taken`);
}

function checkWidth(width: number, opts: ParseOptions, what: string): void {
  const names = opts.featureNames;
  if (names && names.length > 0 && width !== names.length) {
    throw new ValidationError(`${what} ${width} values per row but the model has ${names.length} features (${names.join(', ')})`);
  }
}

function fromRows(rows: unknown[][], opts: ParseOptions, limits: InputLimits): { rows: unknown[][]; where: Where } {
  const width = rows[0]!.length;
  checkFeatureCount(width, limits, 'rows have');
  rows.forEach((row, i) => {
    if (row.length === 0) throw new ValidationError(`inputs[${i}] is an empty row`);
    if (row.length !== width) throw new ValidationError(`inputs[${i}] has ${row.length} values, inputs[0] has ${width}`);
  });
  checkWidth(width, opts, 'rows have');
  return { rows, where: (r, c) => `inputs[${r}][${c}]` };
}

function fromObjects(objects: Json[], opts: ParseOptions, limits: InputLimits): { rows: unknown[][]; featureNames: string[]; where: Where } {
  const names = opts.featureNames && opts.featureNames.length > 0 ? [...opts.featureNames] : Object.keys(objects[0]!);
  if (names.length === 0) throw new ValidationError(`inputs[0] is an empty row object`);
  checkFeatureCount(names.length, limits, 'row objects have');
  for (const n of names) checkFeatureName(n, limits, 'a key of inputs[0]');
  const rows = objects.map((obj, i) => {
    const unknown = Object.keys(obj).filter((k) => !names.includes(k));
    if (unknown.length > 0) throw new ValidationError(`inputs[${i}] has unknown features ${unknown.join(', ')} (features: ${names.join(', ')})`);
    return names.map((n) => {
      if (!(n in obj)) throw new ValidationError(`inputs[${i}] is missing feature '${n}'`);
      return obj[n];
    });
  });
  return { rows, featureNames: names, where: (r, c) => `inputs[${r}].${names[c]!}` };
}

interface Tensor {
  name: string;
  shape: number[];
  values: unknown[];
  /** Its data came nested (`[[1, 2], [3, 4]]`) rather than flat. */
  nested: boolean;
}

function readTensor(t: Json, i: number, limits: InputLimits): Tensor {
  const at = `inputs[${i}]`;
  if (typeof t.name !== 'string' || t.name === '') throw new ValidationError(`${at}.name must be a non-empty string`);
  checkFeatureName(t.name, limits, `${at}.name`);
  if (!isV2Datatype(t.datatype)) {
    const got = t.datatype === undefined ? 'is missing' : `${show(t.datatype)} is not a V2 datatype`;
    throw new ValidationError(`${at}.datatype ${got} (one of ${V2_DATATYPES.join(', ')})`);
  }
  const { shape, datatype, data } = t;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new ValidationError(`${at}.shape must be an array of whole numbers, got ${show(shape)}`);
  }
  if (shape.length < 1 || shape.length > 2) {
    throw new ValidationError(`${at}.shape ${show(shape)} has ${shape.length} dimensions; send [N, features] or [N]`);
  }
  if (!Array.isArray(data)) throw new ValidationError(`${at}.data must be an array`);
  const dims = shape as number[];
  if (dims[0]! > limits.rowsPerRequest) throw new ValidationError(`${at}.shape ${show(dims)} has ${dims[0]} rows; a request takes at most ${limits.rowsPerRequest}`);
  if (dims[1] !== undefined) checkFeatureCount(dims[1], limits, `${at}.shape ${show(dims)} has`);
  const values: unknown[] = [];
  const nested = data.some(Array.isArray);
  if (nested) {
    // Nested data must have exactly the tensor's shape, so rows are never silently re-cut.
    walkNested(data, 0, '', { at, dims, datatype, values });
  } else {
    const needed = dims.reduce((a, b) => a * b, 1);
    if (data.length !== needed) throw new ValidationError(`${at}.shape ${show(dims)} needs ${needed} values, got ${data.length}`);
    // A plain loop with the path built only for the message: this runs for every value of every request.
    for (let k = 0; k < data.length; k++) {
      const v: unknown = data[k];
      // null is a missing value, whatever the datatype; the model's schema says whether it is taken.
      if (v !== null && !fitsDatatype(v, datatype)) throw new ValidationError(`${at}.data[${k}] is ${show(v)}, which does not fit ${datatype}`);
      values.push(v);
    }
  }
  if (dims[0] === 0) throw new ValidationError(`${at}.shape ${show(dims)} has no rows`);
  if (dims[1] === 0) throw new ValidationError(`${at}.shape ${show(dims)} has no features`);
  return { name: t.name, shape: dims, values, nested };
}

/** Walks nested tensor data against the shape, collecting the values in row-major order. */
function walkNested(node: unknown, dim: number, path: string, t: { at: string; dims: number[]; datatype: V2Datatype; values: unknown[] }): void {
  const { at, dims } = t;
  if (dim === dims.length) {
    if (Array.isArray(node)) throw new ValidationError(`${at}.data${path} is an array but shape ${show(dims)} has ${dims.length} dimensions`);
    if (node !== null && !fitsDatatype(node, t.datatype)) throw new ValidationError(`${at}.data${path} is ${show(node)}, which does not fit ${t.datatype}`);
    t.values.push(node);
    return;
  }
  if (!Array.isArray(node)) throw new ValidationError(`${at}.data${path} is ${show(node)}, shape ${show(dims)} needs an array there`);
  if (node.length !== dims[dim]) {
    throw new ValidationError(`${at}.data${path} has ${node.length} values, shape ${show(dims)} needs ${dims[dim]}`);
  }
  for (let k = 0; k < node.length; k++) walkNested(node[k], dim + 1, `${path}[${k}]`, t);
}

function fromTensors(items: Json[], opts: ParseOptions, limits: InputLimits): { rows: unknown[][]; featureNames?: string[]; where: Where } {
  checkFeatureCount(items.length, limits, `inputs has ${items.length} tensors, i.e.`);
  const tensors = items.map((t, i) => readTensor(t, i, limits));
  if (tensors.length === 1) {
    const t = tensors[0]!;
    const n = t.shape[0]!;
    const width = t.shape[1] ?? 1;
    checkWidth(width, opts, `inputs[0] has`);
    const rows = Array.from({ length: n }, (_, r) => t.values.slice(r * width, (r + 1) * width));
    const oneD = t.shape.length === 1;
    const where: Where = t.nested ? (r, c) => `inputs[0].data[${r}]${oneD ? '' : `[${c}]`}` : (r, c) => `inputs[0].data[${r * width + c}] (row ${r})`;
    return { rows, where };
  }

  const n = tensors[0]!.shape[0]!;
  const seen = new Set<string>();
  tensors.forEach((t, i) => {
    if (t.shape.length === 2 && t.shape[1] !== 1) {
      throw new ValidationError(`inputs[${i}].shape ${show(t.shape)}: with several inputs each one is a feature column of shape [N] or [N, 1]`);
    }
    if (t.shape[0] !== n) throw new ValidationError(`inputs[${i}].shape ${show(t.shape)} has ${t.shape[0]} rows, inputs[0] has ${n}`);
    if (seen.has(t.name)) throw new ValidationError(`inputs[${i}].name '${t.name}' is used twice`);
    seen.add(t.name);
  });

  let order = tensors;
  const model = opts.featureNames;
  if (model && model.length > 0) {
    const missing = model.filter((f) => !seen.has(f));
    const unknown = tensors.map((t) => t.name).filter((name) => !model.includes(name));
    if (missing.length > 0 || unknown.length > 0) {
      const parts = [missing.length ? `missing ${missing.join(', ')}` : '', unknown.length ? `unknown ${unknown.join(', ')}` : ''];
      throw new ValidationError(`input names do not match the model's features (${model.join(', ')}): ${parts.filter(Boolean).join('; ')}`);
    }
    order = model.map((f) => tensors.find((t) => t.name === f)!);
  }
  const rows = Array.from({ length: n }, (_, r) => order.map((t) => t.values[r]));
  const where: Where = (r, c) => {
    const t = order[c]!;
    return `inputs[${tensors.indexOf(t)}].data[${r}]${t.nested && t.shape.length === 2 ? '[0]' : ''}`;
  };
  return { rows, featureNames: order.map((t) => t.name), where };
}

/**
 * Builds the V2 response: one output tensor `predict`. Scalar outputs give shape [N]; outputs
 * that are equal-length arrays of scalars (e.g. class probabilities) give shape [N, C] with
 * row-major flat data. The datatype is the model's declared one when it has one (`datatype`);
 * otherwise it follows the kind of values, never their magnitude, so one model does not switch
 * between requests: numbers FP64 (88 as well as 163.5), booleans BOOL, strings BYTES; anything
 * else (objects, mixed or ragged outputs) is BYTES holding each output's JSON.
 * @throws ValidationError when outputs do not fit the declared datatype.
 */
export function buildV2Response(args: { modelName: string; modelVersion?: string; id: string; outputs: unknown[]; datatype?: V2Datatype }): V2InferenceResponse {
  return {
    model_name: args.modelName,
    ...(args.modelVersion !== undefined ? { model_version: args.modelVersion } : {}),
    id: args.id,
    outputs: [outputTensor('predict', args.outputs, args.datatype)],
  };
}

/** One V2 output tensor holding one output per row (see {@link buildV2Response}). */
export function outputTensor(name: string, outputs: unknown[], declared?: V2Datatype): V2OutputTensor {
  const n = outputs.length;
  const first = outputs[0];
  const matrix = Array.isArray(first) && first.length > 0 && outputs.every((o) => Array.isArray(o) && o.length === first.length);
  const flat = matrix ? (outputs as unknown[][]).flat() : outputs;
  const shape = matrix ? [n, (first as unknown[]).length] : [n];
  const asJson = (): V2OutputTensor => ({ name, shape: [n], datatype: 'BYTES', data: outputs.map((o) => (typeof o === 'string' ? o : (JSON.stringify(o) ?? 'null'))) });
  if (declared) {
    const misfit = flat.findIndex((v) => !fitsDatatype(v, declared));
    if (misfit < 0) return { name, shape, datatype: declared, data: flat };
    if (declared === 'BYTES') return asJson();
    throw new ValidationError(`output ${show(flat[misfit])} does not fit the model's declared output datatype ${declared}`);
  }
  const datatype = valueKind(flat);
  return datatype ? { name, shape, datatype, data: flat } : asJson();
}

/** BOOL, FP64 (finite numbers) or BYTES (strings) for values all of one kind; undefined otherwise. */
function valueKind(values: readonly unknown[]): V2Datatype | undefined {
  if (values.length === 0) return undefined;
  if (values.every((v) => typeof v === 'boolean')) return 'BOOL';
  if (values.every((v) => typeof v === 'string')) return 'BYTES';
  if (values.every((v) => typeof v === 'number' && Number.isFinite(v))) return 'FP64';
  return undefined;
}
