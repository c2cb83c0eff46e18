import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agrees, isError, pairCases } from '../../../test/fixtures/stats/cases.ts';
import { welchTTest } from './index.ts';

// Where scipy's answer is NaN or rounding noise, our documented value and the reason.
const BY_DESIGN: Record<string, { statistic: number; pValue: number; why: string }> = {
  constant_equal: {
    statistic: 0,
    pValue: 1,
    why: 'both variances 0 and equal means: scipy gives 0/0 = NaN; no difference can be shown',
  },
  constant_tenth_vs_varied: {
    statistic: NaN, // checked against the one-sample formula below
    pValue: NaN,
    why: "mean([0.1]*30) is not exactly 0.1 in floating point, so scipy's variance of a constant column is ~1e-33 instead of 0",
  },
};

for (const c of pairCases) {
  const expected = c.expected.welch;
  test(`welchTTest matches scipy.stats.ttest_ind(equal_var=False): ${c.name} (${c.note})`, () => {
    assert.ok(!isError(expected));
    const got = welchTTest(c.a, c.b);
    const design = BY_DESIGN[c.name];
    if (c.a.length === 1 || c.b.length === 1) {
      // scipy: the ddof=1 variance of one value is NaN, so t is NaN. We take that variance as
      // 0: one value against a sample is a one-sample t-test around that value.
      assert.ok(Number.isNaN(expected.statistic));
      checkOneSampleForm(c.a, c.b, got);
      return;
    }
    if (design) {
      if (Number.isNaN(design.statistic)) {
        checkOneSampleForm(c.a, c.b, got);
      } else {
        assert.equal(got.statistic, design.statistic, design.why);
        assert.equal(got.pValue, design.pValue, design.why);
      }
      return;
    }
    assert.ok(agrees(got.statistic, expected.statistic), `t: ${got.statistic} vs ${expected.statistic}`);
    assert.ok(agrees(got.pValue, expected.pValue), `p: ${got.pValue} vs ${expected.pValue}`);
    assert.ok(agrees(got.df, expected.df), `df: ${got.df} vs ${expected.df}`);
  });
}

/** With one side of zero variance, t = (m_a − m_b)/√(s²/n) and df = n − 1 of the other side. */
function checkOneSampleForm(a: Float64Array, b: Float64Array, got: ReturnType<typeof welchTTest>): void {
  const [fixed, sample] = a.length === 1 || new Set(a).size === 1 ? [a, b] : [b, a];
  if (sample.length === 1 || new Set(sample).size === 1) {
    const d = (fixed[0] as number) - (sample[0] as number);
    assert.equal(got.pValue, d === 0 ? 1 : 0);
    return;
  }
  const n = sample.length;
  const mean = sample.reduce((s, v) => s + v, 0) / n;
  const variance = sample.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1);
  const t = ((fixed === a ? 1 : -1) * ((fixed[0] as number) - mean)) / Math.sqrt(variance / n);
  assert.ok(agrees(got.statistic, t, 1e-12), `t: ${got.statistic} vs ${t}`);
  assert.ok(agrees(got.df, n - 1, 1e-12), `df: ${got.df}`);
}

test('two different constants: statistic ±∞ and p = 0, df 1, as scipy', () => {
  assert.deepEqual(welchTTest(new Float64Array(3).fill(1), new Float64Array(4).fill(2)), {
    statistic: -Infinity,
    pValue: 0,
    df: 1,
  });
});

test('one value each: equal values give statistic 0 and p = 1', () => {
  assert.deepEqual(welchTTest(Float64Array.of(2), Float64Array.of(2)), { statistic: 0, pValue: 1, df: 1 });
});
