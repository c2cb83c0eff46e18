/**
 * The few double-double (≈ 106-bit) operations that scipy's Smirnov distribution uses
 * (xsf/cephes/dd_real.h, from the qd package). Values are immutable `{ hi, lo }` pairs with
 * |lo| ≤ ulp(hi)/2. Exact products use Dekker's splitting, as JavaScript has no fused
 * multiply-add; the results are the same.
 */

/** A double-double number hi + lo. */
export interface DD {
  readonly hi: number;
  readonly lo: number;
}

const SPLITTER = 134217729; // 2^27 + 1

/** The double-double of a double. */
export function dd(hi: number, lo = 0): DD {
  return { hi, lo };
}

function quickTwoSum(a: number, b: number): DD {
  const s = a + b;
  return { hi: s, lo: b - (s - a) };
}

function twoSum(a: number, b: number): DD {
  const s = a + b;
  const c = s - a;
  return { hi: s, lo: a - (s - c) + (b - c) };
}

function twoProd(a: number, b: number): DD {
  const p = a * b;
  const ca = SPLITTER * a;
  const ahi = ca - (ca - a);
  const alo = a - ahi;
  const cb = SPLITTER * b;
  const bhi = cb - (cb - b);
  const blo = b - bhi;
  return { hi: p, lo: ahi * bhi - p + ahi * blo + alo * bhi + alo * blo };
}

/** a + b. */
export function add(a: DD, b: DD): DD {
  const s = twoSum(a.hi, b.hi);
  const t = twoSum(a.lo, b.lo);
  let r = quickTwoSum(s.hi, s.lo + t.hi);
  r = quickTwoSum(r.hi, r.lo + t.lo);
  return r;
}

/** a + b for a double b. */
export function addD(a: DD, b: number): DD {
  const s = twoSum(a.hi, b);
  return quickTwoSum(s.hi, s.lo + a.lo);
}

/** a − b. */
export function sub(a: DD, b: DD): DD {
  return add(a, { hi: -b.hi, lo: -b.lo });
}

/** a · b. */
export function mul(a: DD, b: DD): DD {
  const p = twoProd(a.hi, b.hi);
  return quickTwoSum(p.hi, p.lo + (a.hi * b.lo + a.lo * b.hi));
}

/** a · b for a double b. */
export function mulD(a: DD, b: number): DD {
  const p1 = twoProd(a.hi, b);
  const p2 = twoProd(a.lo, b);
  return quickTwoSum(p1.hi, p2.lo + p2.hi + p1.lo);
}

/** a / b (long division in three quotient digits, as qd). */
export function div(a: DD, b: DD): DD {
  const q1 = a.hi / b.hi;
  let r = sub(a, mulD(b, q1));
  const q2 = r.hi / b.hi;
  r = sub(r, mulD(b, q2));
  const q3 = r.hi / b.hi;
  return addD(quickTwoSum(q1, q2), q3);
}

/** floor(a). */
export function floorDD(a: DD): DD {
  const hi = Math.floor(a.hi);
  if (hi !== a.hi) return { hi, lo: 0 };
  // High word already an integer: round the low word.
  return quickTwoSum(hi, Math.floor(a.lo));
}

/** a · 2^e. */
export function ldexpDD(a: DD, e: number): DD {
  return { hi: ldexp(a.hi, e), lo: ldexp(a.lo, e) };
}

/** [m, e] with a = m · 2^e and 0.5 ≤ |m.hi| < 1 (or |m.hi| = 1 with m.lo of opposite sign), as qd. */
export function frexpDD(a: DD): [DD, number] {
  const [hiMan, e] = frexp(a.hi);
  let man = hiMan;
  let lo = ldexp(a.lo, -e);
  let exponent = e;
  if (Math.abs(man) === 0.5 && man * lo < 0) {
    man *= 2;
    lo *= 2;
    exponent -= 1;
  }
  return [{ hi: man, lo }, exponent];
}

// Views on one scratch double, to read and write exponent bits (little-endian platforms;
// Node runs on little-endian hardware only).
const scratch = new Float64Array(1);
const scratchWords = new Uint32Array(scratch.buffer);
const TWO_54 = 2 ** 54;

/** C's frexp: [m, e] with x = m·2^e, 0.5 ≤ |m| < 1; [x, 0] for 0, ±∞ and NaN. Exact. */
export function frexp(x: number): [number, number] {
  if (x === 0 || !Number.isFinite(x)) return [x, 0];
  let bias = 0;
  scratch[0] = x;
  let biased = ((scratchWords[1] as number) >>> 20) & 0x7ff;
  if (biased === 0) {
    // Subnormal: scale into the normal range first.
    scratch[0] = x * TWO_54;
    bias = 54;
    biased = ((scratchWords[1] as number) >>> 20) & 0x7ff;
  }
  // Set the exponent field to 1022 (values in [0.5, 1)), keep sign and mantissa.
  scratchWords[1] = ((scratchWords[1] as number) & 0x800fffff) | (1022 << 20);
  return [scratch[0] as number, biased - 1022 - bias];
}

/** C's ldexp: x · 2^e without intermediate overflow or underflow. */
export function ldexp(x: number, e: number): number {
  if (e >= -1022 && e <= 1023) return x * pow2(e);
  let r = x;
  let k = e;
  // Scale in steps that stay inside the normal range, so only the last step can round.
  while (k > 1000) {
    r *= pow2(1000);
    k -= 1000;
  }
  while (k < -1000) {
    r *= pow2(-1000);
    k += 1000;
    if (r === 0) return r;
  }
  return r * pow2(k);
}

/** 2^e for an integer −1022 ≤ e ≤ 1023, built from its bits. */
function pow2(e: number): number {
  scratch[0] = 0;
  scratchWords[0] = 0;
  scratchWords[1] = (e + 1023) << 20;
  return scratch[0] as number;
}
