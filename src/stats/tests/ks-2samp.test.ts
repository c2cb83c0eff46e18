import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agrees, isError, pairCases } from '../../../test/fixtures/stats/cases.ts';
import { ks2samp } from './index.ts';

for (const c of pairCases) {
  const { ks, ksExact, ksAsymp } = c.expected;
  test(`ks2samp matches scipy.stats.ks_2samp: ${c.name} (${c.note})`, () => {
    for (const [method, expected] of [['auto', ks], ['exact', ksExact], ['asymp', ksAsymp]] as const) {
      if (expected === undefined) continue;
      assert.ok(!isError(expected), `scipy failed on ${method}`);
      const got = ks2samp(c.a, c.b, { method });
      assert.ok(agrees(got.statistic, expected.statistic), `${method} D: ${got.statistic} vs ${expected.statistic}`);
      assert.ok(agrees(got.pValue, expected.pValue), `${method} p: ${got.pValue} vs ${expected.pValue}`);
    }
  });
}

test("an explicit 'exact' whose lcm exceeds int32 switches to asymp, as scipy", () => {
  // lcm(50021, 50023) ≈ 2.5e9 > 2^31 − 1: scipy warns and uses the asymptotic p-value.
  const a = Float64Array.from({ length: 50021 }, (_, i) => (i * 0.6180339887) % 1);
  const b = Float64Array.from({ length: 50023 }, (_, i) => (i * 0.4142135623) % 1);
  assert.deepEqual(ks2samp(a, b, { method: 'exact' }), ks2samp(a, b, { method: 'asymp' }));
});

test('statistic and p-value do not depend on the order of the values', () => {
  const a = Float64Array.of(3, 1, 2, 8, 5, 5);
  const b = Float64Array.of(4, 9, 7, 6);
  assert.deepEqual(ks2samp(a, b), ks2samp(Float64Array.from(a).reverse(), Float64Array.from(b).reverse()));
});
