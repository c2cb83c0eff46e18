import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../common/errors.ts';
import { LIMITS } from '../common/limits.ts';
import { resolveInputSchema, typesFromFeatureStats, type InputSchema } from './input-schema.ts';
import { buildV2Response, parseInferenceRequest, type ParseOptions } from './v2-body.ts';
import type { V2Datatype } from './v2-datatype.ts';

const bad = (body: unknown, message: string | RegExp, featureNames?: string[]) =>
  assert.throws(
    () => parseInferenceRequest(body, featureNames ? { featureNames } : {}),
    (err: unknown) => {
      assert.ok(err instanceof ValidationError, `expected ValidationError, got ${String(err)}`);
      if (typeof message === 'string') assert.equal(err.message, message);
      else assert.match(err.message, message);
      return true;
    },
  );

describe('parseInferenceRequest: one tensor', () => {
  it('cuts a [N, F] tensor into N rows, flat or nested', () => {
    const flat = parseInferenceRequest({ id: 'r1', inputs: [{ name: 'x', shape: [2, 3], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6] }] });
    assert.deepEqual(flat, { id: 'r1', rows: [[1, 2, 3], [4, 5, 6]] });
    const nested = parseInferenceRequest({ inputs: [{ name: 'x', shape: [2, 3], datatype: 'INT64', data: [[1, 2, 3], [4, 5, 6]] }] });
    assert.deepEqual(nested.rows, [[1, 2, 3], [4, 5, 6]]);
    const column = parseInferenceRequest({ inputs: [{ name: 'x', shape: [3], datatype: 'BYTES', data: ['a', 'b', 'c'] }] });
    assert.deepEqual(column.rows, [['a'], ['b'], ['c']]);
    assert.equal(column.featureNames, undefined);
  });

  it('says what is wrong with shape and data', () => {
    const t = (extra: Record<string, unknown>) => ({ inputs: [{ name: 'x', shape: [2, 3], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6], ...extra }] });
    bad(t({ data: [1, 2, 3, 4, 5] }), 'inputs[0].shape [2,3] needs 6 values, got 5');
    bad(t({ data: [[1, 2, 3], [4, 5]] }), 'inputs[0].data[1] has 2 values, shape [2,3] needs 3');
    bad(t({ data: [[1, 2, 3]] }), 'inputs[0].data has 1 values, shape [2,3] needs 2');
    bad(t({ data: [[1, 2, [3]], [4, 5, 6]] }), /inputs\[0\]\.data\[0\]\[2\] is an array/);
    bad(t({ shape: [0, 3], data: [] }), 'inputs[0].shape [0,3] has no rows');
    bad(t({ shape: [2, 0], data: [] }), 'inputs[0].shape [2,0] has no features');
    bad(t({ shape: [1, 2, 3] }), /has 3 dimensions/);
    bad(t({ shape: [2, -3] }), /shape must be an array of whole numbers/);
    bad(t({ data: 'nope' }), 'inputs[0].data must be an array');
    bad(t({ name: '' }), 'inputs[0].name must be a non-empty string');
  });

  it('checks datatype names and values', () => {
    const t = (datatype: unknown, data: unknown[]) => ({ inputs: [{ name: 'x', shape: [data.length], datatype, data }] });
    bad(t('FLOAT', [1]), /inputs\[0\]\.datatype "FLOAT" is not a V2 datatype \(one of BOOL, UINT8/);
    bad({ inputs: [{ name: 'x', shape: [1], data: [1] }] }, /inputs\[0\]\.datatype is missing/);
    bad(t('INT32', [1, 1.5]), 'inputs[0].data[1] is 1.5, which does not fit INT32');
    bad(t('UINT8', [256]), 'inputs[0].data[0] is 256, which does not fit UINT8');
    bad(t('UINT16', [-1]), /does not fit UINT16/);
    bad(t('INT8', [-129]), /does not fit INT8/);
    bad(t('BOOL', [1]), 'inputs[0].data[0] is 1, which does not fit BOOL');
    bad(t('BYTES', [3]), /does not fit BYTES/);
    bad(t('FP16', [70000]), /does not fit FP16/);
    bad(t('FP64', ['1.0']), /does not fit FP64/);
    for (const [dt, v] of [['BOOL', true], ['UINT64', 5], ['INT16', -300], ['FP16', 1.5], ['FP32', 1e30], ['BYTES', 'x']] as const) {
      assert.deepEqual(parseInferenceRequest(t(dt, [v])).rows, [[v]]);
    }
  });
});

describe('parseInferenceRequest: several tensors', () => {
  const cols = (a: unknown[], b: unknown[], names = ['a', 'b']) => ({
    inputs: [
      { name: names[0], shape: [a.length], datatype: 'FP64', data: a },
      { name: names[1], shape: [b.length, 1], datatype: 'FP64', data: b },
    ],
  });

  it('makes one column per tensor, named by the tensor', () => {
    assert.deepEqual(parseInferenceRequest(cols([1, 2], [3, 4])), { rows: [[1, 3], [2, 4]], featureNames: ['a', 'b'] });
  });

  it('reorders named columns to the model features and rejects names it does not know', () => {
    assert.deepEqual(parseInferenceRequest(cols([1, 2], [3, 4]), { featureNames: ['b', 'a'] }), { rows: [[3, 1], [4, 2]], featureNames: ['b', 'a'] });
    bad(cols([1], [2], ['a', 'c']), "input names do not match the model's features (a, b): missing b; unknown c", ['a', 'b']);
  });

  it('rejects mismatched rows, duplicate names and wide tensors', () => {
    bad(cols([1, 2], [3]), 'inputs[1].shape [1,1] has 1 rows, inputs[0] has 2');
    bad(cols([1], [2], ['a', 'a']), "inputs[1].name 'a' is used twice");
    bad(
      { inputs: [{ name: 'a', shape: [1], datatype: 'FP64', data: [1] }, { name: 'b', shape: [1, 2], datatype: 'FP64', data: [1, 2] }] },
      /inputs\[1\]\.shape \[1,2\]: with several inputs each one is a feature column/,
    );
  });
});

describe('parseInferenceRequest: short forms', () => {
  it('takes rows of values', () => {
    assert.deepEqual(parseInferenceRequest({ inputs: [[1, 'x'], [2, 'y']] }), { rows: [[1, 'x'], [2, 'y']] });
  });

  it('takes row objects, in model feature order when known', () => {
    assert.deepEqual(parseInferenceRequest({ inputs: [{ a: 1, b: 2 }, { b: 4, a: 3 }] }), { rows: [[1, 2], [3, 4]], featureNames: ['a', 'b'] });
    assert.deepEqual(parseInferenceRequest({ inputs: [{ a: 1, b: 2 }] }, { featureNames: ['b', 'a'] }).rows, [[2, 1]]);
    bad({ inputs: [{ a: 1, b: 2 }, { a: 3 }] }, "inputs[1] is missing feature 'b'");
    bad({ inputs: [{ a: 1, b: 2 }, { a: 3, b: 4, c: 5 }] }, 'inputs[1] has unknown features c (features: a, b)');
  });

  it('rejects bodies that are not one clear form', () => {
    bad(null, /the request body must be a JSON object/);
    bad({}, "'inputs' must be a non-empty array (tensors, rows or row objects)");
    bad({ inputs: [] }, /non-empty array/);
    bad({ inputs: [1, 2, 3] }, /inputs\[0\] must be a tensor, a row \(array\) or a row object, got 1; send one row as \[\[\.\.\.\]\]/);
    bad({ inputs: [[1, 2], { a: 1 }] }, 'inputs[1] is not a row like inputs[0]: use one form for all inputs');
    bad({ inputs: [[1, 2], [3]] }, 'inputs[1] has 1 values, inputs[0] has 2');
    bad({ inputs: [[]] }, 'inputs[0] is an empty row');
    bad({ id: 7, inputs: [[1]] }, "'id' must be a string, got 7");
    bad({ inputs: [[1, 2]] }, 'rows have 2 values per row but the model has 3 features (a, b, c)', ['a', 'b', 'c']);
    bad({ inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP64', data: [1, 2] }] }, /inputs\[0\] has 2 values per row but the model has 3 features/, ['a', 'b', 'c']);
  });
});

describe('parseInferenceRequest: what the model takes', () => {
  // A model logged with a training set of a numeric 'temp' and a categorical 'city'.
  const training: InputSchema = resolveInputSchema({}, { name: 'm', featureNames: ['temp', 'city'], trainingTypes: ['FP64', 'CATEGORY'] });
  const opts: ParseOptions = { featureNames: ['temp', 'city'], schema: training, modelName: 'm' };
  const refuse = (body: unknown, message: string | RegExp, o: ParseOptions = opts) =>
    assert.throws(
      () => parseInferenceRequest(body, o),
      (err: unknown) => err instanceof ValidationError && (typeof message === 'string' ? err.message === message : message.test(err.message)),
    );

  it('takes numbers for numeric columns, strings, numbers and booleans for categorical ones, null anywhere', () => {
    assert.deepEqual(parseInferenceRequest({ inputs: [[1.5, 'oslo'], [null, 3], [-2, null], [0, true]] }, opts).rows, [[1.5, 'oslo'], [null, 3], [-2, null], [0, true]]);
    assert.deepEqual(parseInferenceRequest({ inputs: [{ temp: 2, city: 'rome' }] }, opts).rows, [[2, 'rome']]);
    const tensors = { inputs: [{ name: 'city', shape: [2], datatype: 'BYTES', data: ['a', null] }, { name: 'temp', shape: [2, 1], datatype: 'FP64', data: [[1], [null]] }] };
    assert.deepEqual(parseInferenceRequest(tensors, opts).rows, [[1, 'a'], [null, null]]);
  });

  it('answers a value of the wrong type with its place and what the feature takes', () => {
    refuse({ inputs: [[1, 'a'], ['warm', 'b']] }, `inputs[1][0] is "warm", but feature 'temp' takes a number that fits FP64 (a numeric column in the training set)`);
    refuse({ inputs: [[true, 'a']] }, /^inputs\[0\]\[0\] is true, but feature 'temp' takes a number/);
    refuse({ inputs: [[1, { a: 1 }]] }, `inputs[0][1] is {"a":1}, but feature 'city' takes a string, number or boolean (a categorical column in the training set)`);
    refuse({ inputs: [[1, [1, 2]]] }, /^inputs\[0\]\[1\] is \[1,2\], but feature 'city' takes/);
    refuse({ inputs: [{ temp: '3', city: 'x' }] }, /^inputs\[0\]\.temp is "3", but feature 'temp' takes a number/);
    // BYTES where the model's feature is numeric: the tensor is consistent, the model does not take it.
    refuse({ inputs: [{ name: 'x', shape: [1, 2], datatype: 'BYTES', data: ['1', 'a'] }] }, /^inputs\[0\]\.data\[0\] \(row 0\) is "1", but feature 'temp' takes a number that fits FP64/);
    refuse({ inputs: [{ name: 'x', shape: [2, 2], datatype: 'BYTES', data: [['1', 'a'], ['b', 'c']] }] }, /^inputs\[0\]\.data\[0\]\[0\] is "1"/);
    refuse({ inputs: [{ name: 'temp', shape: [1], datatype: 'BYTES', data: ['hot'] }, { name: 'city', shape: [1], datatype: 'BYTES', data: ['x'] }] }, /^inputs\[0\]\.data\[0\] is "hot", but feature 'temp'/);
  });

  it('refuses numbers beyond FP64 (1e400 parses to Infinity) whatever the model takes', () => {
    const body = JSON.parse('{"inputs": [[1e400, "a"]]}') as unknown;
    refuse(body, /^inputs\[0\]\[0\] is a number beyond the range of FP64 \(±1\.8e308\)/);
    refuse(JSON.parse('{"inputs": [[-1e400]]}') as unknown, /^inputs\[0\]\[0\] is a number beyond the range of FP64/, {});
    refuse(JSON.parse('{"inputs": [{"name": "x", "shape": [1], "datatype": "FP64", "data": [1e400]}]}') as unknown, /inputs\[0\]\.data\[0\] is a number beyond the range of FP64/, {});
  });

  it('without a schema takes any number, string, boolean or null, never objects or arrays in a row', () => {
    assert.deepEqual(parseInferenceRequest({ inputs: [[1, 'a', true, null]] }).rows, [[1, 'a', true, null]]);
    refuse({ inputs: [[1, { a: 1 }]] }, 'inputs[0][1] is {"a":1}, but feature 1 takes a number, string, boolean or null', {});
    refuse({ inputs: [[[1], 2]] }, /^inputs\[0\]\[0\] is \[1\], but feature 0 takes/, {});
  });

  it('follows the model\'s own declaration: one datatype, or one per feature; missing values refused when it says so', () => {
    const ints = resolveInputSchema({ inputDatatype: 'INT32', allowsMissing: false }, { name: 'm', trainingTypes: ['FP64'] });
    assert.equal(ints.source, 'model');
    assert.deepEqual(parseInferenceRequest({ inputs: [[1, 2]] }, { schema: ints, modelName: 'm' }).rows, [[1, 2]]);
    refuse({ inputs: [[1, 2.5]] }, 'inputs[0][1] is 2.5, but feature 1 takes a number that fits INT32 (as the model declares)', { schema: ints, modelName: 'm' });
    refuse({ inputs: [[1, null]] }, "inputs[0][1] is null (a missing value), which model 'm' does not take (feature 1)", { schema: ints, modelName: 'm' });
    const each = resolveInputSchema({ inputDatatype: ['BOOL', 'BYTES'] }, { name: 'm', featureNames: ['on', 'tag'] });
    assert.deepEqual(parseInferenceRequest({ inputs: [[true, 'x'], [null, null]] }, { featureNames: ['on', 'tag'], schema: each }).rows, [[true, 'x'], [null, null]]);
    refuse({ inputs: [[1, 'x']] }, "inputs[0][0] is 1, but feature 'on' takes true or false (as the model declares)", { featureNames: ['on', 'tag'], schema: each, modelName: 'm' });
    assert.throws(() => resolveInputSchema({ inputDatatype: 'FLOAT' }, { name: 'm' }), /declares inputDatatype "FLOAT": use a V2 datatype/);
    assert.throws(() => resolveInputSchema({ inputDatatype: ['FP64'] }, { name: 'm', featureNames: ['a', 'b'] }), /declares 1 input datatypes for 2 features/);
    assert.throws(() => resolveInputSchema({ allowsMissing: 'no' }, { name: 'm' }), /allowsMissing "no"/);
  });

  it('reads numeric and categorical columns off reference statistics', () => {
    const stats = { a: { count: 3, missing: 0, mean: 1, hist: { counts: [3], edges: [0, 1] } }, b: { count: 3, missing: 0, categories: { x: 3 } }, c: { count: 0, missing: 3 } };
    assert.deepEqual(typesFromFeatureStats(['a', 'b', 'c'], stats), ['FP64', 'CATEGORY', 'ANY']);
    assert.equal(typesFromFeatureStats(['a', 'z'], stats), undefined, 'a feature without stats: nothing is known');
    assert.equal(typesFromFeatureStats([], stats), undefined);
  });

  it('holds requests to the limits: rows, values per row, string and name lengths, the id', () => {
    const small = { ...LIMITS, rowsPerRequest: 3, featuresPerRow: 2, stringChars: 5, featureNameChars: 4, requestIdChars: 6 };
    const o: ParseOptions = { limits: small };
    refuse({ inputs: [[1], [2], [3], [4]] }, 'inputs has 4 rows; a request takes at most 3', o);
    refuse({ inputs: [[1, 2, 3]] }, 'rows have 3 values per row; a row takes at most 2', o);
    refuse({ inputs: [{ a: 1, b: 2, c: 3 }] }, 'row objects have 3 values per row; a row takes at most 2', o);
    refuse({ inputs: [{ abcde: 1 }] }, 'a key of inputs[0] is a name of 5 characters; at most 4 are taken', o);
    refuse({ inputs: [['abcdef']] }, 'inputs[0][0] is a string of 6 characters; at most 5 are taken', o);
    refuse({ id: 'abcdefg', inputs: [[1]] }, "'id' has 7 characters; at most 6 are taken", o);
    refuse({ inputs: [{ name: 'x', shape: [4], datatype: 'FP64', data: [1, 2, 3, 4] }] }, 'inputs[0].shape [4] has 4 rows; a request takes at most 3', o);
    refuse({ inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP64', data: [1, 2, 3] }] }, 'inputs[0].shape [1,3] has 3 values per row; a row takes at most 2', o);
    refuse({ inputs: ['a', 'b', 'c'].map((name) => ({ name, shape: [1], datatype: 'FP64', data: [1] })) }, 'inputs has 3 tensors, i.e. 3 values per row; a row takes at most 2', o);
    refuse({ inputs: [{ name: 'xxxxx', shape: [1], datatype: 'FP64', data: [1] }] }, 'inputs[0].name is a name of 5 characters; at most 4 are taken', o);
    assert.deepEqual(parseInferenceRequest({ id: 'abcdef', inputs: [['abcde', 1], [2, 3], [4, 5]] }, o).rows, [['abcde', 1], [2, 3], [4, 5]]);
  });
});

describe('buildV2Response', () => {
  const out = (outputs: unknown[]) => buildV2Response({ modelName: 'm', id: 'r', outputs }).outputs[0];

  it('infers shape, and the datatype from the kind of values (never their magnitude)', () => {
    assert.deepEqual(out([1, 0, 1]), { name: 'predict', shape: [3], datatype: 'FP64', data: [1, 0, 1] });
    assert.deepEqual(out([88]), { name: 'predict', shape: [1], datatype: 'FP64', data: [88] });
    assert.deepEqual(out([163.5]), { name: 'predict', shape: [1], datatype: 'FP64', data: [163.5] });
    assert.deepEqual(out([0.5, 1]), { name: 'predict', shape: [2], datatype: 'FP64', data: [0.5, 1] });
    assert.deepEqual(out(['a']), { name: 'predict', shape: [1], datatype: 'BYTES', data: ['a'] });
    assert.deepEqual(out([true, false]), { name: 'predict', shape: [2], datatype: 'BOOL', data: [true, false] });
    assert.deepEqual(out([[0.2, 0.8], [0.6, 0.4]]), { name: 'predict', shape: [2, 2], datatype: 'FP64', data: [0.2, 0.8, 0.6, 0.4] });
    assert.deepEqual(out([{ a: 1 }, null]), { name: 'predict', shape: [2], datatype: 'BYTES', data: ['{"a":1}', 'null'] });
    assert.deepEqual(out([[1], [1, 2]]), { name: 'predict', shape: [2], datatype: 'BYTES', data: ['[1]', '[1,2]'] });
  });

  it('answers a declared datatype, and refuses outputs that do not fit it', () => {
    const typed = (outputs: unknown[], datatype: V2Datatype) => buildV2Response({ modelName: 'm', id: 'r', outputs, datatype }).outputs[0];
    assert.deepEqual(typed([1, 0, 1], 'INT64'), { name: 'predict', shape: [3], datatype: 'INT64', data: [1, 0, 1] });
    assert.deepEqual(typed([[1, 2], [3, 4]], 'INT32'), { name: 'predict', shape: [2, 2], datatype: 'INT32', data: [1, 2, 3, 4] });
    assert.deepEqual(typed([0.5], 'FP32'), { name: 'predict', shape: [1], datatype: 'FP32', data: [0.5] });
    assert.deepEqual(typed([{ a: 1 }, 'x'], 'BYTES'), { name: 'predict', shape: [2], datatype: 'BYTES', data: ['{"a":1}', 'x'] });
    assert.throws(() => typed([1, 163.5], 'INT64'), /output 163\.5 does not fit the model's declared output datatype INT64/);
    assert.throws(() => typed([300], 'UINT8'), /output 300 does not fit/);
    assert.throws(() => typed(['1'], 'FP64'), /output "1" does not fit/);
  });

  it('carries model name, version and id', () => {
    const r = buildV2Response({ modelName: 'm', modelVersion: 'v2', id: 'abc', outputs: [1] });
    assert.equal(r.model_name, 'm');
    assert.equal(r.model_version, 'v2');
    assert.equal(r.id, 'abc');
    assert.equal('model_version' in buildV2Response({ modelName: 'm', id: 'abc', outputs: [1] }), false);
  });
});
