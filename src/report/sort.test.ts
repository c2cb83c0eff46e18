import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sortFloat64, SortScratch } from './sort.ts';

function check(values: Float64Array, scratch?: SortScratch): void {
  const want = values.slice().sort();
  const got = sortFloat64(values.slice(), scratch);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) assert.fail(`index ${i}: ${got[i]} vs ${want[i]}`);
  }
}

test('radix sort agrees with Float64Array#sort on mixed signs, ties, zeros, extremes', () => {
  let seed = 42;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const n = 50_000;
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const r = rnd();
    a[i] =
      r < 0.1 ? 0 : r < 0.15 ? -0 : r < 0.3 ? Math.round(rnd() * 20) - 10 : r < 0.35 ? (rnd() - 0.5) * 1e300 : r < 0.4 ? (rnd() - 0.5) * 1e-310 : (rnd() - 0.5) * 1000;
  }
  a[0] = Number.MAX_VALUE;
  a[1] = -Number.MAX_VALUE;
  a[2] = Number.MIN_VALUE;
  a[3] = -Number.MIN_VALUE;
  check(a);
  const scratch = new SortScratch();
  check(a.subarray(5, 40_000), scratch);
  check(a.subarray(100, 3000), scratch);
});

test('short arrays and constant arrays', () => {
  check(new Float64Array([3, 1, 2]));
  check(new Float64Array(0));
  check(new Float64Array(10_000).fill(1.5));
  check(new Float64Array(10_000).fill(-2));
});

test('sorts in place and returns the same array; works on a subarray view', () => {
  const buf = new Float64Array(10_000).map((_, i) => (i * 7919) % 10_007);
  const view = buf.subarray(2000, 9000);
  const before = buf.slice(0, 2000);
  assert.equal(sortFloat64(view), view);
  for (let i = 1; i < view.length; i++) assert.ok((view[i - 1] as number) <= (view[i] as number));
  assert.deepEqual(buf.slice(0, 2000), before, 'outside the view untouched');
});
