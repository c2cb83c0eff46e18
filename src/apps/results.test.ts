import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApplicationError } from '../common/errors.ts';
import { normalizeOutput, result } from './results.ts';

test('a single result, a list, and a record of metrics are all accepted', () => {
  const one = normalizeOutput('a', { name: 'r', value: 0.3, kind: 'data_drift', status: 'detected' } as never);
  assert.deepEqual(one.results, [{ name: 'r', value: 0.3, kind: 0, status: 2, extraData: {} }]);
  const list = normalizeOutput('a', [{ name: 'm', value: 1 }, result({ name: 'r', value: 2, kind: 'model_performance', status: 'no_detection' })]);
  assert.equal(list.metrics.length, 1);
  assert.equal(list.results[0]!.kind, 2);
  const rec = normalizeOutput('a', { a: 1, b_2: 2.5 });
  assert.deepEqual(rec.metrics, [{ name: 'a', value: 1 }, { name: 'b_2', value: 2.5 }]);
  assert.deepEqual(normalizeOutput('a', undefined), { results: [], metrics: [] });
});

test('bad names, kinds, statuses and values are refused with a message', () => {
  assert.throws(() => normalizeOutput('a', { name: '1bad', value: 1 }), (e: unknown) => e instanceof ApplicationError && /must match/.test(e.message));
  assert.throws(() => normalizeOutput('a', { 'bad-name': 1 }), /must match/);
  assert.throws(() => normalizeOutput('a', [{ name: 'r', value: 1, kind: 9, status: 0 }] as never), /kind 9/);
  assert.throws(() => normalizeOutput('a', [{ name: 'r', value: 1, kind: 0, status: 'maybe' }] as never), /status "maybe"/);
  assert.throws(() => normalizeOutput('a', { x: Number.NaN }), /finite number/);
  assert.throws(() => normalizeOutput('a', [{ name: 'r', value: 1 }, { name: 'r', value: 2 }]), /twice/);
  assert.throws(() => normalizeOutput('a', [42] as never), /expected a result/);
});
