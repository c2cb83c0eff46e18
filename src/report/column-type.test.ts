import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from '../common/errors.ts';
import { columnTypeOf, inferColumnType, parseColumnTypes, splitCategorical, splitNumeric } from '../stats/column-type.ts';

test('column types: numbers and numeric text are numeric; text, booleans, dates are categorical', () => {
  assert.equal(columnTypeOf([1, 2.5, '3', ' -4e2 ', null, '']), 'numeric');
  assert.equal(columnTypeOf(new Float64Array([1, Number.NaN])), 'numeric');
  assert.equal(columnTypeOf([1, 'a']), 'categorical');
  assert.equal(columnTypeOf([true, false]), 'categorical');
  assert.equal(columnTypeOf([new Date(0)]), 'categorical');
  assert.equal(columnTypeOf([null, 'NA', Number.NaN, Infinity]), undefined);
  assert.equal(columnTypeOf(new Float64Array([Number.NaN])), undefined);
  assert.equal(inferColumnType([1, 2], ['a']), 'categorical');
  assert.equal(inferColumnType([1, 2], [null]), 'numeric');
  assert.equal(inferColumnType([1, 2], [3], 'categorical'), 'categorical');
});

test('splitNumeric drops and counts missing values; non-numbers counted apart; integer dtype as pandas would read it', () => {
  const s = splitNumeric([1, '2', null, '', 'NA', Number.NaN, -Infinity, 'inf', 'x', 3.5, true]);
  assert.deepEqual(Array.from(s.values), [1, 2, 3.5, 1]);
  assert.equal(s.missing, 6);
  assert.equal(s.nonNumeric, 1);
  assert.equal(s.integerDtype, false);
  assert.equal(splitNumeric([1, 2, 3]).integerDtype, true);
  assert.equal(splitNumeric([1, 2, null]).integerDtype, false, 'a missing value makes pandas read floats');
  assert.equal(splitNumeric(new Float64Array([1, 2, Number.NaN])).integerDtype, false);
  assert.equal(splitNumeric(new Int32Array([1, 2])).integerDtype, true);
  const input = new Float64Array([3, Number.NaN, 1]);
  const t = splitNumeric(input);
  assert.deepEqual(Array.from(t.values), [3, 1]);
  assert.equal(t.missing, 1);
  assert.notEqual(t.values.buffer, input.buffer, 'a copy');
});

test('splitCategorical: numbers as text, booleans as true/false, missing counted', () => {
  const s = splitCategorical(['a', 1, '1', true, null, '', 'NA', 'b', 'a']);
  assert.deepEqual(Object.fromEntries(s.counts), { a: 2, 1: 2, true: 1, b: 1 });
  assert.equal(s.total, 6);
  assert.equal(s.missing, 3);
});

test('parseColumnTypes', () => {
  assert.deepEqual({ ...parseColumnTypes(['a=categorical', 'b=numeric', 'x=y=cat']) }, { a: 'categorical', b: 'numeric', 'x=y': 'categorical' });
  assert.throws(() => parseColumnTypes(['a']), ValidationError);
  assert.throws(() => parseColumnTypes(['a=text']), /not numeric or categorical/);
});
