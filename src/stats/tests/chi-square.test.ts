import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agrees, chiSquareCases, isError } from '../../../test/fixtures/stats/cases.ts';
import { ValidationError } from '../../common/errors.ts';
import { chiSquareTest } from './index.ts';

for (const c of chiSquareCases) {
  test(`chiSquareTest matches scipy.stats.chisquare: ${c.name} (${c.note})`, () => {
    const got = chiSquareTest(c.observed, c.expected);
    assert.ok(!isError(c.scipy));
    if (Number.isNaN(c.scipy.pValue) && c.observed.length === 1) {
      // One category: scipy's df = 0 makes p NaN. The totals agree, so nothing can differ.
      assert.deepEqual(got, { statistic: 0, pValue: 1 });
      return;
    }
    if (Number.isNaN(c.scipy.statistic)) {
      // A category with 0 observed and 0 expected: scipy's 0/0 term makes everything NaN.
      // We drop such categories; the answer is scipy's on the remaining ones.
      const rest = c.scipyWithoutEmpty;
      assert.ok(rest && !isError(rest));
      assert.ok(agrees(got.statistic, rest.statistic), `χ²: ${got.statistic} vs ${rest.statistic}`);
      assert.ok(agrees(got.pValue, rest.pValue), `p: ${got.pValue} vs ${rest.pValue}`);
      return;
    }
    assert.ok(agrees(got.statistic, c.scipy.statistic), `χ²: ${got.statistic} vs ${c.scipy.statistic}`);
    assert.ok(agrees(got.pValue, c.scipy.pValue), `p: ${got.pValue} vs ${c.scipy.pValue}`);
  });
}

test('chi-square rejects totals that disagree (scipy raises too), empty and negative input', () => {
  assert.throws(() => chiSquareTest([10, 20], [10, 25]), ValidationError);
  assert.throws(() => chiSquareTest([], []), ValidationError);
  assert.throws(() => chiSquareTest([1, 2], [1, 2, 0]), ValidationError);
  assert.throws(() => chiSquareTest([-1, 4], [1, 2]), ValidationError);
  assert.throws(() => chiSquareTest([0, 0], [0, 0]), ValidationError);
});
