import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agrees, zCases } from '../../../test/fixtures/stats/cases.ts';
import { ValidationError } from '../../common/errors.ts';
import { proportionZTest } from './index.ts';

for (const c of zCases) {
  test(`proportionZTest matches Evidently's pooled z-test: ${c.s1}/${c.n1} vs ${c.s2}/${c.n2}`, () => {
    const got = proportionZTest(c.s1, c.n1, c.s2, c.n2);
    if (Number.isNaN(c.statistic)) {
      // All successes or all failures on both sides: z = 0/0 (NaN in numpy). Same proportions,
      // so we define statistic 0 and p = 1.
      assert.deepEqual(got, { statistic: 0, pValue: 1 });
      return;
    }
    assert.ok(agrees(got.statistic, c.statistic), `z: ${got.statistic} vs ${c.statistic}`);
    assert.ok(agrees(got.pValue, c.pValue), `p: ${got.pValue} vs ${c.pValue}`);
  });
}

test('counts must be integers with 0 ≤ successes ≤ n and n ≥ 1', () => {
  assert.throws(() => proportionZTest(1, 0, 1, 5), ValidationError);
  assert.throws(() => proportionZTest(6, 5, 1, 5), ValidationError);
  assert.throws(() => proportionZTest(1.5, 5, 1, 5), ValidationError);
  assert.throws(() => proportionZTest(-1, 5, 1, 5), ValidationError);
});
