/**
 * Modified Bessel function of the second kind K_ν(x) for |ν| ≤ ½ and x > 0, which the
 * Cramér–von Mises limiting distribution needs at ν = ¼ (scipy calls `special.kv`).
 *
 * Temme's series for x ≤ 2 and Steed's continued fraction (Temme's CF2 form) above; both
 * converge to double precision. The gamma-function constants they need depend only on ν;
 * callers pass them (see {@link besselK025}).
 */

const EPS = 1e-16;
const MAX_ITER = 10000;

/** Γ(1 + ν) and Γ(1 − ν) for ν = ¼: Γ(5/4) and Γ(3/4). */
const GAMMA_5_4 = 0.906402477055477;
const GAMMA_3_4 = 1.2254167024651776;

/** K_{1/4}(x) for x > 0 (0 when it underflows). */
export function besselK025(x: number): number {
  return besselK(0.25, x, GAMMA_5_4, GAMMA_3_4);
}

/**
 * K_ν(x) for 0 < |ν| ≤ ½, x > 0, given Γ(1 + ν) and Γ(1 − ν).
 * Returns NaN for x ≤ 0 and 0 where e^{−x} underflows.
 */
export function besselK(nu: number, x: number, gammaOnePlusNu: number, gammaOneMinusNu: number): number {
  if (!(x > 0)) return NaN;
  if (x <= 2) return temmeSeries(nu, x, gammaOnePlusNu, gammaOneMinusNu);
  return steedCF2(nu, x);
}

/**
 * K_ν(x) = Σ c_k f_k with c_k = (x²/4)^k / k!,
 *   f_k = (k f_{k−1} + p_{k−1} + q_{k−1}) / (k² − ν²), p_k = p_{k−1}/(k − ν), q_k = q_{k−1}/(k + ν),
 *   f_0 = (νπ / sin νπ)·[cosh σ·Γ₁(ν) + (sinh σ / σ)·ln(2/x)·Γ₂(ν)], σ = ν·ln(2/x),
 *   p_0 = ½ (x/2)^{−ν} Γ(1+ν), q_0 = ½ (x/2)^{ν} Γ(1−ν),
 * with Γ₁ = (1/Γ(1−ν) − 1/Γ(1+ν)) / (2ν) and Γ₂ = (1/Γ(1−ν) + 1/Γ(1+ν)) / 2.
 */
function temmeSeries(nu: number, x: number, gPlus: number, gMinus: number): number {
  const invPlus = 1 / gPlus;
  const invMinus = 1 / gMinus;
  const gamma1 = (invMinus - invPlus) / (2 * nu);
  const gamma2 = (invMinus + invPlus) / 2;
  const d = -Math.log(x / 2);
  const sigma = nu * d;
  const fact = (nu * Math.PI) / Math.sin(nu * Math.PI);
  const fact2 = Math.abs(sigma) < 1e-8 ? 1 : Math.sinh(sigma) / sigma;
  let f = fact * (gamma1 * Math.cosh(sigma) + gamma2 * fact2 * d);
  const e = Math.exp(sigma);
  let p = (0.5 * e) * gPlus;
  let q = (0.5 / e) * gMinus;
  const quarterX2 = (x * x) / 4;
  let c = 1;
  let sum = f;
  const nu2 = nu * nu;
  for (let k = 1; k < MAX_ITER; k++) {
    f = (k * f + p + q) / (k * k - nu2);
    c *= quarterX2 / k;
    p /= k - nu;
    q /= k + nu;
    const del = c * f;
    sum += del;
    if (Math.abs(del) < Math.abs(sum) * EPS) break;
  }
  return sum;
}

/**
 * K_ν(x) = √(π/2x)·e^{−x} / S for x > 2, where S is summed alongside Steed's evaluation of the
 * continued fraction for K_{ν+1}/K_ν (Temme 1975; the form of Numerical Recipes' bessik).
 */
function steedCF2(nu: number, x: number): number {
  let b = 2 * (1 + x);
  let d = 1 / b;
  let delh = d;
  let q1 = 0;
  let q2 = 1;
  const a1 = 0.25 - nu * nu;
  let q = a1;
  let c = a1;
  let a = -a1;
  let s = 1 + q * delh;
  for (let i = 2; i < MAX_ITER; i++) {
    a -= 2 * (i - 1);
    c = (-a * c) / i;
    const qnew = (q1 - b * q2) / a;
    q1 = q2;
    q2 = qnew;
    q += c * qnew;
    b += 2;
    d = 1 / (b + a * d);
    delh = (b * d - 1) * delh;
    const dels = q * delh;
    s += dels;
    if (Math.abs(dels / s) < EPS) break;
  }
  return (Math.sqrt(Math.PI / (2 * x)) * Math.exp(-x)) / s;
}
