import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agrees, andersonCases, isError, pairCases } from '../../../test/fixtures/stats/cases.ts';
import type { Answer, Result } from '../../../test/fixtures/stats/cases.ts';
import { ValidationError } from '../../common/errors.ts';
import { andersonKSamp } from './index.ts';

const FLOOR = 0.001;
const CAP = 0.25;

function check(samples: Float64Array[], expected: Answer<Result & { criticalValues: number[] }>): void {
  const got = andersonKSamp(samples);
  if (isError(expected) || Number.isNaN(expected.statistic)) {
    // scipy raises (one distinct value) or returns NaN (N < 4, variance undefined). We define
    // statistic 0 and the capped p-value 0.25: no evidence of a difference.
    assert.equal(got.statistic, 0);
    assert.equal(got.pValue, CAP);
    assert.equal(got.pValueCapped, true);
    return;
  }
  assert.ok(agrees(got.statistic, expected.statistic), `A2: ${got.statistic} vs ${expected.statistic}`);
  assert.ok(agrees(got.pValue, expected.pValue), `p: ${got.pValue} vs ${expected.pValue}`);
  got.criticalValues.forEach((v, i) => assert.ok(agrees(v, expected.criticalValues[i] as number), `critical ${i}`));
  // scipy caps the interpolation at 0.25 and floors it at 0.001 (with a warning); we say so.
  assert.equal(got.pValueCapped, expected.pValue === CAP || expected.pValue === FLOOR);
}

for (const c of pairCases) {
  test(`andersonKSamp (2 samples) matches scipy.stats.anderson_ksamp(midrank=True): ${c.name}`, () => {
    check([c.a, c.b], c.expected.anderson);
  });
}

for (const c of andersonCases) {
  test(`andersonKSamp (k samples) matches scipy.stats.anderson_ksamp(midrank=True): ${c.name}`, () => {
    check(c.samples, c.expected);
  });
}

test('anderson-darling needs two non-empty samples', () => {
  assert.throws(() => andersonKSamp([Float64Array.of(1, 2)]), ValidationError);
  assert.throws(() => andersonKSamp([Float64Array.of(1, 2), new Float64Array(0)]), ValidationError);
});
