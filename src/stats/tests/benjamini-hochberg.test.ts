import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agrees, bhCases } from '../../../test/fixtures/stats/cases.ts';
import { ValidationError } from '../../common/errors.ts';
import { benjaminiHochberg } from './index.ts';

for (const [i, c] of bhCases.entries()) {
  test(`benjaminiHochberg matches scipy.stats.false_discovery_control(method='bh'): case ${i} (${c.pValues.length} p-values)`, () => {
    const got = benjaminiHochberg(c.pValues);
    assert.equal(got.length, c.adjusted.length);
    got.forEach((p, j) => assert.ok(agrees(p, c.adjusted[j] as number), `${j}: ${p} vs ${c.adjusted[j]}`));
  });
}

test('the input is not reordered, and p-values outside [0, 1] are rejected', () => {
  const ps = [0.04, 0.01, 0.03];
  benjaminiHochberg(ps);
  assert.deepEqual(ps, [0.04, 0.01, 0.03]);
  assert.throws(() => benjaminiHochberg([0.1, 1.2]), ValidationError);
  assert.throws(() => benjaminiHochberg([NaN]), ValidationError);
});
