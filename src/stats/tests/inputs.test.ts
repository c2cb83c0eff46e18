import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../../common/errors.ts';
import {
  andersonKSamp,
  cramerVonMises2,
  energyDistance,
  ks2samp,
  mannWhitneyU,
  wassersteinDistance,
  welchTTest,
} from './index.ts';

const twoSample: [string, (a: Float64Array, b: Float64Array) => unknown][] = [
  ['ks2samp', ks2samp],
  ['mannWhitneyU', mannWhitneyU],
  ['cramerVonMises2', cramerVonMises2],
  ['welchTTest', welchTTest],
  ['wassersteinDistance', wassersteinDistance],
  ['energyDistance', energyDistance],
  ['andersonKSamp', (a, b) => andersonKSamp([a, b])],
];

for (const [name, f] of twoSample) {
  test(`${name} rejects empty samples and non-finite values with ValidationError`, () => {
    const ok = Float64Array.of(1, 2, 3);
    assert.throws(() => f(new Float64Array(0), ok), ValidationError);
    assert.throws(() => f(ok, new Float64Array(0)), ValidationError);
    assert.throws(() => f(Float64Array.of(1, NaN), ok), ValidationError);
    assert.throws(() => f(ok, Float64Array.of(Infinity)), ValidationError);
  });

  test(`${name} leaves its inputs untouched (it sorts copies)`, () => {
    const a = Float64Array.of(5, -1, 3, 3, 0.5, 9, 2);
    const b = Float64Array.of(4, 8, -2, 6, 1);
    const before = [Array.from(a), Array.from(b)];
    f(a, b);
    assert.deepEqual([Array.from(a), Array.from(b)], before);
  });

  test(`${name} answers for degenerate but valid data (single values, constants)`, () => {
    for (const [a, b] of [
      [Float64Array.of(1), Float64Array.of(1)],
      [Float64Array.of(1), Float64Array.of(2)],
      [new Float64Array(7).fill(3), new Float64Array(5).fill(3)],
      [new Float64Array(7).fill(3), Float64Array.of(1, 2, 3, 4)],
    ] as const) {
      const r = f(a, b);
      const values = typeof r === 'number' ? [r] : Object.values(r as Record<string, unknown>).flat();
      for (const v of values) assert.ok(typeof v !== 'number' || !Number.isNaN(v), `${name} gave NaN`);
    }
  });
}
