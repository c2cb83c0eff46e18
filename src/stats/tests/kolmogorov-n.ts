/**
 * Survival function of the two-sided one-sample Kolmogorov–Smirnov statistic D_n — scipy's
 * `stats.kstwo.sf(x, n)`, ported from scipy/stats/_ksstats.py (`_kolmogn` with `cdf=False`).
 * `ks_2samp`'s asymptotic p-value is `kstwo.sf(D, round(m·n/(m+n)))`.
 *
 * Simard & L'Ecuyer (2011) choose among: Ruben–Gambino closed forms at the ends, the
 * Durbin matrix (Marsaglia–Tsang–Wang), Pomeranz's recursion, the Pelz–Good expansion and
 * 2·Smirnov in the upper tail. Thresholds and evaluation order are scipy's.
 */
import { smirnovSf } from './smirnov.ts';

const E128 = 128;
const EP128 = 2 ** 128;
const EM128 = 2 ** -128;
const LOG_2PI = Math.log(2 * Math.PI);
const SQRT2PI = Math.sqrt(2 * Math.PI);
const MIN_LOG = -708;
const SQRT3 = Math.sqrt(3);
const PI_SQUARED = Math.PI ** 2;
const PI_FOUR = Math.PI ** 4;
const PI_SIX = Math.PI ** 6;
// B_{2j}/(2j)/(2j−1) for j = 8 … 1 (Stirling series), highest degree first as np.polyval.
const STIRLING_COEFFS = [
  -0.029550653594771242, 0.00641025641025641, -0.0019175269175269176, 0.0008417508417508417,
  -0.0005952380952380953, 0.0007936507936507937, -0.002777777777777778, 0.08333333333333333,
];

/** Pr(D_n ≥ x) for integer n ≥ 1, as `scipy.stats.kstwo.sf(x, n)` (support [1/(2n), 1]). */
export function kstwoSf(x: number, n: number): number {
  if (Number.isNaN(x) || !Number.isInteger(n) || n < 1) return NaN;
  // rv_continuous: at or below the lower support bound the survival function is 1.
  if (x <= 0.5 / n) return 1;
  if (x >= 1) return 0;
  return kolmognSf(n, x);
}

function clip(p: number): number {
  return Math.min(Math.max(p, 0), 1);
}

function kolmognSf(n: number, x: number): number {
  if (x >= 1) return 0;
  if (x <= 0) return 1;
  const t = n * x;
  if (t <= 1) {
    // Ruben–Gambino: 1/(2n) ≤ x ≤ 1/n.
    if (t <= 0.5) return 1;
    let prob: number;
    if (n <= 140) {
      prob = 1;
      const f = 2 * t - 1;
      for (let i = 1; i <= n; i++) prob *= i * (1 / n) * f;
    } else {
      prob = Math.exp(logNFactorialDivNPowN(n) + n * Math.log(2 * t - 1));
    }
    return clip(1 - prob);
  }
  if (t >= n - 1) return clip(2 * (1 - x) ** n); // Ruben–Gambino
  if (x >= 0.5) return clip(2 * smirnovSf(n, x)); // exact: the two one-sided tails are disjoint

  const nxsquared = t * x;
  if (n <= 140) {
    if (nxsquared <= 0.754693) return clip(1 - durbinMatrixCdf(n, x));
    if (nxsquared <= 4) return clip(1 - pomeranzCdf(n, x));
    return clip(2 * smirnovSf(n, x)); // Miller's approximation
  }
  if (nxsquared >= 370) return 0;
  if (nxsquared >= 2.2) return clip(2 * smirnovSf(n, x));
  const cdf = n <= 100000 && n * x ** 1.5 <= 1.4 ? durbinMatrixCdf(n, x) : pelzGoodCdf(n, x);
  return clip(1 - cdf);
}

/** log(n! / n^n) by Stirling, with n·log n removed up front to avoid cancellation. */
function logNFactorialDivNPowN(n: number): number {
  const rn = 1 / n;
  let poly = 0;
  for (const c of STIRLING_COEFFS) poly = poly * (rn / n) + c;
  return Math.log(n) / 2 - n + LOG_2PI / 2 + rn * poly;
}

/**
 * Pr(D_n ≤ d) by Durbin's matrix method as Marsaglia, Tsang & Wang evaluate it: the k-th
 * diagonal entry of (n!/n^n)·H^n, with H of size 2k − 1, powers scaled by 2^128 to stay finite.
 */
function durbinMatrixCdf(n: number, d: number): number {
  if (d >= 1) return 1;
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;

  // v[j] = (1 − h^(j+1)) / (j+1)!, w[j] = 1/j!
  const v = new Float64Array(m);
  const w = new Float64Array(m);
  let fac = 1;
  for (let j = 1; j <= m; j++) {
    v[j - 1] = 1 - h ** j;
    w[j - 1] = fac;
    fac /= j; // may underflow, harmless
    v[j - 1] = (v[j - 1] as number) * fac;
  }
  const tt = Math.max(2 * h - 1, 0) ** m - 2 * h ** m;
  v[m - 1] = (1 + tt) * fac;

  let H: Float64Array<ArrayBuffer> = new Float64Array(m * m);
  for (let i = 1; i < m; i++) {
    for (let r = i - 1; r < m; r++) H[r * m + i] = w[r - (i - 1)] as number;
  }
  for (let r = 0; r < m; r++) H[r * m] = v[r] as number;
  for (let c = 0; c < m; c++) H[(m - 1) * m + c] = v[m - 1 - c] as number;

  let Hpwr: Float64Array<ArrayBuffer> = new Float64Array(m * m);
  for (let i = 0; i < m; i++) Hpwr[i * m + i] = 1;
  let nn = n;
  let expnt = 0;
  let Hexpnt = 0;
  while (nn > 0) {
    if (nn % 2) {
      Hpwr = matmul(Hpwr, H, m);
      expnt += Hexpnt;
    }
    H = matmul(H, H, m);
    Hexpnt *= 2;
    if (Math.abs(H[(k - 1) * m + (k - 1)] as number) > EP128) {
      for (let i = 0; i < H.length; i++) H[i] = (H[i] as number) / EP128;
      Hexpnt += E128;
    }
    nn = Math.floor(nn / 2);
  }

  let p = Hpwr[(k - 1) * m + (k - 1)] as number;
  // Multiply by n!/n^n, rescaling whenever p gets tiny.
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < EM128) {
      p *= EP128;
      expnt -= E128;
    }
  }
  if (expnt !== 0) p = p * 2 ** expnt;
  return clip(p);
}

function matmul(a: Float64Array, b: Float64Array, m: number): Float64Array<ArrayBuffer> {
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let l = 0; l < m; l++) {
      const ail = a[i * m + l] as number;
      if (ail === 0) continue;
      for (let j = 0; j < m; j++) out[i * m + j] = (out[i * m + j] as number) + ail * (b[l * m + j] as number);
    }
  }
  return out;
}

/** Endpoints of the non-zero window of row i in Pomeranz's recursion. */
function pomeranzJ1J2(i: number, n: number, ll: number, ceilf: number, roundf: number): [number, number] {
  let j1: number;
  let j2: number;
  if (i === 0) {
    j1 = -ll - ceilf - 1;
    j2 = ll + ceilf - 1;
  } else {
    const ip1div2 = Math.floor((i + 1) / 2);
    const ip1mod2 = (i + 1) % 2;
    if (ip1mod2 === 0) {
      if (ip1div2 === n + 1) {
        j1 = n - ll - ceilf - 1;
        j2 = n + ll + ceilf - 1;
      } else {
        j1 = ip1div2 - 1 - ll - roundf - 1;
        j2 = ip1div2 + ll - 1 + ceilf - 1;
      }
    } else {
      j1 = ip1div2 - 1 - ll - 1;
      j2 = ip1div2 + ll + roundf - 1;
    }
  }
  return [Math.max(j1 + 2, 0), Math.min(j2, n)];
}

/**
 * Pr(D_n ≤ x) by Pomeranz's recursion (1974): each row is the previous one convolved with
 * (almost) Poisson probabilities; only two rows and their non-zero windows are kept.
 */
function pomeranzCdf(n: number, x: number): number {
  const t = n * x;
  const ll = Math.floor(t);
  const f = t - ll;
  const g = Math.min(f, 1 - f);
  const ceilf = f > 0 ? 1 : 0;
  const roundf = f > 0.5 ? 1 : 0;
  const npwrs = 2 * (ll + 1);
  const gpower = new Float64Array(npwrs);
  const twogpower = new Float64Array(npwrs);
  const onem2gpower = new Float64Array(npwrs);
  gpower[0] = 1;
  twogpower[0] = 1;
  onem2gpower[0] = 1;
  let expnt = 0;
  const gOverN = g / n;
  const twoGOverN = (2 * g) / n;
  const oneMinusTwoGOverN = (1 - 2 * g) / n;
  for (let m = 1; m < npwrs; m++) {
    gpower[m] = ((gpower[m - 1] as number) * gOverN) / m;
    twogpower[m] = ((twogpower[m - 1] as number) * twoGOverN) / m;
    onem2gpower[m] = ((onem2gpower[m - 1] as number) * oneMinusTwoGOverN) / m;
  }

  let V0 = new Float64Array(npwrs);
  let V1 = new Float64Array(npwrs);
  V1[0] = 1;
  let V0s = 0;
  let V1s = 0;
  let j1 = pomeranzJ1J2(0, n, ll, ceilf, roundf)[0];
  for (let i = 1; i < 2 * n + 2; i++) {
    const k1 = j1;
    [V0, V1] = [V1, V0];
    [V0s, V1s] = [V1s, V0s];
    V1.fill(0);
    const window = pomeranzJ1J2(i, n, ll, ceilf, roundf);
    j1 = window[0];
    const j2 = window[1];
    const pwrs = i === 1 || i === 2 * n + 1 ? gpower : i % 2 ? twogpower : onem2gpower;
    const ln2 = j2 - k1 + 1;
    if (ln2 > 0) {
      // conv = np.convolve(V0[k1-V0s : k1-V0s+ln2], pwrs[:ln2]); keep conv[j1-k1 : j2-k1+1].
      const base = k1 - V0s;
      const convStart = j1 - k1;
      const convLen = j2 - j1 + 1;
      let maxV = 0;
      for (let c = 0; c < convLen; c++) {
        const idx = convStart + c;
        let s = 0;
        // conv[idx] = Σ_l V0[base + l] · pwrs[idx − l], over l with both indices in [0, ln2);
        // numpy truncates slices at the array end, which is the same as reading zeros there.
        const lo = Math.max(0, idx - (ln2 - 1));
        const hi = Math.min(idx, ln2 - 1);
        for (let l = lo; l <= hi; l++) s += (V0[base + l] ?? 0) * (pwrs[idx - l] ?? 0);
        V1[c] = s;
        if (s > maxV) maxV = s;
      }
      // Rescale to avoid underflow.
      if (maxV > 0 && maxV < EM128) {
        for (let c = 0; c < V1.length; c++) V1[c] = (V1[c] as number) * EP128;
        expnt -= E128;
      }
      V1s = V0s + j1 - k1;
    }
  }
  // Multiply by n!, rescaling when large.
  let ans = V1[n - V1s] as number;
  for (let m = 1; m <= n; m++) {
    if (Math.abs(ans) > EP128) {
      ans *= EM128;
      expnt += E128;
    }
    ans *= m;
  }
  if (expnt !== 0) ans = ans * 2 ** expnt;
  return clip(ans);
}

/**
 * Pelz–Good (1976) approximation of Pr(D_n ≤ x): the Li-Chien/Korolyuk expansion
 * K0 + K1/√n + K2/n + K3/n^{3/2}, each term rewritten with Jacobi theta identities so that it
 * converges for small z = x√n.
 */
function pelzGoodCdf(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const z = Math.sqrt(n) * x;
  const zsquared = z ** 2;
  const zthree = z ** 3;
  const zfour = z ** 4;
  const zsix = z ** 6;

  const qlog = -PI_SQUARED / 8 / zsquared;
  if (qlog < MIN_LOG) return 0;
  let q = Math.exp(qlog);

  const k1a = -zsquared;
  const k1b = PI_SQUARED / 4;
  const k2a = 6 * zsix + 2 * zfour;
  const k2b = ((2 * zfour - 5 * zsquared) * PI_SQUARED) / 4;
  const k2c = (PI_FOUR * (1 - 2 * zsquared)) / 16;
  const k3d = (PI_SIX * (5 - 30 * zsquared)) / 64;
  const k3c = (PI_FOUR * (-60 * zsquared + 212 * zfour)) / 16;
  const k3b = (PI_SQUARED * (135 * zfour - 96 * zsix)) / 4;
  const k3a = -30 * zsix - 90 * z ** 8;

  const K = [0, 0, 0, 0];
  // Horner scheme for Σ c_i q^(i²), a sum over odd integers.
  const maxk = Math.ceil((16 * z) / Math.PI);
  for (let k = maxk; k > 0; k--) {
    const m = 2 * k - 1;
    const msquared = m ** 2;
    const mfour = m ** 4;
    const msix = m ** 6;
    const qpower = q ** (8 * k);
    const coeffs = [
      1,
      k1a + k1b * msquared,
      k2a + k2b * msquared + k2c * mfour,
      k3a + k3b * msquared + k3c * mfour + k3d * msix,
    ];
    for (let i = 0; i < 4; i++) K[i] = (K[i] as number) * qpower + (coeffs[i] as number);
  }
  const divisors = [z, 6 * zfour, 72 * z ** 7, 6480 * z ** 10];
  for (let i = 0; i < 4; i++) K[i] = (((K[i] as number) * q) * SQRT2PI) / (divisors[i] as number);

  // The other sums, over all integers k: little cancellation, computed directly.
  q = Math.exp(-PI_SQUARED / 2 / zsquared);
  const sqrt3z = SQRT3 * z;
  let k2extra = 0;
  let k3extra = 0;
  for (let k = maxk; k > 0; k--) {
    const ksquared = k ** 2;
    const qpwer = q ** ksquared;
    const kspi = Math.PI * k;
    k2extra += ksquared * qpwer;
    k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ksquared * qpwer;
  }
  K[2] = (K[2] as number) + k2extra * ((PI_SQUARED * SQRT2PI) / (-36 * zthree));
  K[3] = (K[3] as number) + k3extra * ((PI_SQUARED * SQRT2PI) / (216 * zsix));
  let sum = 0;
  for (let i = 0; i < 4; i++) sum += (K[i] as number) / (n * 1) ** (i / 2);
  return sum;
}
