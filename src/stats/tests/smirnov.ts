/**
 * Survival function of the one-sided Kolmogorov–Smirnov statistic D_n⁺ (scipy's
 * `special.smirnov(n, x)`), ported from xsf/cephes/kolmogorov.h (van Mulbregt, 2018).
 *
 * The two-sided asymptotic KS p-value uses 2·smirnov(n, x) in its upper tail, where the
 * p-value is small and has to keep its relative precision; hence the Birnbaum–Tingey sum
 *   Pr(D_n⁺ ≥ x) = x · Σ_{v=0}^{⌊n(1−x)⌋} C(n, v) (x + v/n)^{v−1} (1 − x − v/n)^{n−v}
 * with double-double terms and binomials kept as mantissa/exponent pairs, exactly as scipy.
 */
import {
  type DD,
  add,
  addD,
  dd,
  div,
  floorDD,
  frexpDD,
  ldexp,
  ldexpDD,
  mul,
  mulD,
  sub,
} from './double-double.ts';

const EPSILON = 2.220446049250313e-16;
/** cephes MINLOG = log(2^-1075): exp() of anything below underflows even to a subnormal. */
const MINLOG = -745.1332191019412;
const SMIRNOV_MAX_COMPUTE_N = 1_000_000;
const SM_UPPER_MAX_TERMS = 3;
const SM_UPPERSUM_MIN_N = 10;
const SM_MAX_EXPONENT = 960;

/** Pr(D_n⁺ ≥ x) for integer n ≥ 1 and 0 ≤ x ≤ 1 (NaN otherwise), as scipy's `smirnov`. */
export function smirnovSf(n: number, x: number): number {
  if (!(n > 0 && x >= 0 && x <= 1)) return NaN;
  if (n === 1) return 1 - x;
  if (x === 0) return 1;
  if (x === 1) return 0;

  const { alpha, nxfl } = modNX(n, x);
  let n1mxfl = n - nxfl - (alpha === 0 ? 0 : 1);
  let n1mxceil = n - nxfl;
  // With alpha = 0 the last term belongs to neither the lower nor the upper sum.
  if (alpha === 0) {
    n1mxfl -= 1;
    n1mxceil += 1;
  }
  // x ≤ 1/n: closed form.
  if (nxfl === 0 || (nxfl === 1 && alpha === 0)) {
    const t = pow2(1, x, n - 1);
    return clamp01(1 - x * t);
  }
  // The survival function underflows.
  if (-2 * n * x * x < MINLOG) return 0;
  // x ≥ 1 − 1/n: closed form.
  if (nxfl >= n - 1) return clamp01(pow2(1, -x, n));
  if (n > SMIRNOV_MAX_COMPUTE_N) {
    // Too many terms: p ~ exp(−(6nx + 1)² / 18n).
    const logp = -Math.pow(6 * n * x + 1, 2) / 18 / n;
    // Maximise precision for small p-values.
    return clamp01(logp < -Math.LN2 ? Math.exp(logp) : 1 - -Math.expm1(logp));
  }

  // The upper sum (few terms, small x) or the lower sum; the upper one alternates in sign.
  const nUpperTerms = n - n1mxceil + 1;
  const useUpperSum =
    (nUpperTerms <= 1 && x < 0.5) ||
    (n >= SM_UPPERSUM_MIN_N && nUpperTerms <= SM_UPPER_MAX_TERMS && x <= 0.5 / Math.sqrt(n));

  let start = 0;
  let step = 1;
  let nTerms = n1mxfl + 1;
  const vmid = Math.floor(n / 2);
  let cman: DD = dd(1);
  let cexpt = 0;
  let aj: DD;
  if (useUpperSum) {
    start = n;
    step = -1;
    nTerms = n - n1mxceil + 1;
    aj = pow4D(1, x, 1, 0, n - 1);
  } else {
    aj = div(pow4D(1, -x, 1, 0, n), dd(x));
  }
  let ajSum = add(dd(0), aj);
  [cman, cexpt] = updateBinomial(cman, cexpt, n, 0);

  for (let j = 1; j < nTerms; j++) {
    const v = start + j * step;
    aj = computeAv(n, x, v, cman, cexpt);
    if (Number.isFinite(aj.hi) && aj.hi !== 0) ajSum = add(ajSum, aj);
    // Stop once the remaining terms cannot change the sum.
    if (aj.hi !== 0) {
      if (4 * (nTerms - j) * Math.abs(aj.hi) < EPSILON * ajSum.hi && j !== nTerms - 1) break;
    } else if (j > vmid) {
      break;
    }
    [cman, cexpt] = updateBinomial(cman, cexpt, n, j);
  }
  const prob = mulD(ajSum, x).hi;
  return clamp01(step < 0 ? 1 - prob : prob);
}

function clamp01(p: number): number {
  return Math.min(Math.max(p, 0), 1);
}

/** floor(n·x) and the fractional part, computed exactly in double-double. */
function modNX(n: number, x: number): { alpha: number; nxfl: number } {
  const nxD = mulD(dd(x), n);
  const nxfloorD = floorDD(nxD);
  let alpha = sub(nxD, nxfloorD).hi;
  let nxfl = Math.trunc(nxfloorD.hi);
  if (alpha === 1) {
    nxfl += 1;
    alpha = 0;
  }
  return { alpha, nxfl };
}

/** C(n, j+1) from C(n, j), as mantissa in [0.5, 1) and exponent, so it cannot overflow. */
function updateBinomial(cman: DD, cexpt: number, n: number, j: number): [DD, number] {
  const rat = div(dd(n - j), dd(j + 1));
  const [man, e] = frexpDD(mul(cman, rat));
  return [man, cexpt + e];
}

/** a^m for a double-double a: pow of the high word, corrected for the low word. */
function powD(a: DD, m: number): DD {
  if (m <= 0) {
    if (m === 0) return dd(1);
    return div(dd(1), powD(a, -m));
  }
  if (a.hi === 0 && a.lo === 0) return dd(0);
  const ans = Math.pow(a.hi, m);
  const r = a.lo / a.hi;
  let adj = m * r;
  if (Math.abs(adj) > 1e-8) {
    // Two Taylor terms of (1 + r)^m, or exp of the scaled log when r is larger.
    adj = Math.abs(adj) < 1e-4 ? adj + m * r * (((m - 1) / 2) * r) : Math.expm1(m * Math.log1p(r));
  }
  return addD(dd(ans), ans * adj);
}

function pow2(a: number, b: number, m: number): number {
  return powD(addD(dd(a), b), m).hi;
}

/** ((a + b)/(c + d))^m in double-double. */
function pow4D(a: number, b: number, c: number, d: number, m: number): DD {
  if (m <= 0) {
    if (m === 0) return dd(1);
    return pow4D(c, d, a, b, -m);
  }
  const A = addD(dd(a), b);
  const C = addD(dd(c), d);
  if (A.hi === 0 && A.lo === 0) return C.hi === 0 && C.lo === 0 ? dd(NaN, NaN) : dd(0);
  if (C.hi === 0 && C.lo === 0) return dd(A.hi < 0 ? -Infinity : Infinity, 0);
  return powD(div(A, C), m);
}

/** xsf's nextPowerOf2 (a rounding helper for the exponent split below). */
function nextPowerOf2(x: number): number {
  const q = ldexp(x, 1 - 53);
  let L = Math.abs(q + x);
  if (L === 0) {
    L = Math.abs(x);
  } else {
    const lint = Math.trunc(L);
    if (lint === L) L = lint;
  }
  return L;
}

/** a^m as [significand, exponent], splitting the power so nothing underflows. */
function pow2ScaledD(a: DD, m: number): [DD, number] {
  if (m <= 0) {
    if (m === 0) return [dd(1), 0];
    const [inv, e1] = pow2ScaledD(a, -m);
    const [ans, e2] = frexpDD(div(dd(1), inv));
    return [ans, -e1 + e2];
  }
  const [y, yE] = frexpDD(a);
  if (m === 1) return [y, yE];
  let maxExpt = SM_MAX_EXPONENT;
  // y^m might fall below 2^-960: find how many factors can be multiplied safely.
  if ((m * (y.hi - 1)) / y.hi < -SM_MAX_EXPONENT * Math.LN2) {
    const lg2y = Math.log(y.hi) / Math.LN2;
    const lgAns = m * lg2y;
    if (lgAns <= -SM_MAX_EXPONENT) {
      maxExpt = Math.trunc(nextPowerOf2(-SM_MAX_EXPONENT / lg2y + 1) / 2);
    }
  }
  if (m <= maxExpt) {
    const [ans, ansE] = frexpDD(powD(y, m));
    return [ans, ansE + m * yE];
  }
  const q = Math.trunc(m / maxExpt);
  const r = m % maxExpt;
  // y^m = (y^maxExpt)^q · y^r
  const [y2r, y2rE] = pow2ScaledD(y, r);
  const [y2m, y2mE] = pow2ScaledD(y, maxExpt);
  const [y2mq, y2mqE0] = pow2ScaledD(y2m, q);
  const [ans, ansE0] = frexpDD(mul(y2r, y2mq));
  const y2mqE = y2mqE0 + y2mE * q;
  return [ans, ansE0 + y2mqE + y2rE + m * yE];
}

/** One term A_v = C(n, v) · (1 − x − v/n)^{n−v} · (x + v/n)^{v−1}. */
function computeAv(n: number, x: number, v: number, cman: DD, cexpt: number): DD {
  const t2x = sub(div(dd(n - v), dd(n)), dd(x));
  const [t2, t2E] = pow2ScaledD(t2x, n - v);
  const t1x = addD(div(dd(v), dd(n)), x);
  const [t1, t1E] = pow2ScaledD(t1x, v - 1);
  const ans = mul(mul(t1, t2), cman);
  return ldexpDD(ans, cexpt + t1E + t2E);
}
