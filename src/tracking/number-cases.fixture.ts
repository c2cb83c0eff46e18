import { seededRandom } from './seeded-random.ts';

/**
 * Numbers to hold a JSON number writer to `JSON.stringify`: short decimals of every length and sign,
 * full doubles, neighbours of short decimals, float32 values widened, extremes and specials.
 */
export function jsonNumberCases(): number[] {
  const u = seededRandom(11);
  const xs: number[] = [0, -0, 0.1, 0.2, 0.1 + 0.2, 1.005, 2.675, 4.35, 1e-6, 1.5e-6, 1e-7, 5e-7, 123456789.123456, 999999999.999999, 1e15 / 7, 1e21, 1e21 + 1, 5e-324];
  xs.push(Number.MAX_VALUE, -Number.MAX_VALUE, Number.MAX_SAFE_INTEGER, 2 ** 31, -(2 ** 31) - 0.5, 0.30000001192092896);
  xs.push(2 ** 31 - 1, -(2 ** 31), 2 ** 32, 1e9, 1e9 - 0.5, 999_999_999.5, 1e15 - 1, 1e15, -1e15 + 1, 123_456_789_012_345, 100_000_001, 10_000_000_000);
  xs.push(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY);
  for (let i = 0; i < 200_000; i++) {
    const places = i % 8;
    let x = places === 7 ? u() : Math.round((u() - 0.5) * 10 ** (i % 13)) / 10 ** places;
    if (i % 5 === 0) x = x * 1e-3; // lands next to, not on, a short decimal
    if (i % 11 === 0) x = Math.fround(x); // a float32 widened, as tensors give
    xs.push(x);
  }
  // Neighbours of short decimals: their products round to a whole number, yet they are not the decimal.
  for (const d of [0.001, 3.217, 12.5, 0.125, 7.000001, 999_999_999.000001]) xs.push(d + Number.EPSILON * d, d - Number.EPSILON * d);
  return xs;
}
