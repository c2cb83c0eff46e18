/**
 * Drift statistics engine (SPEC section 4, "Data-drift report app"): two-sample tests and
 * distances on typed arrays, numerically matching scipy (and Evidently's conventions where the
 * report follows Evidently). Samples are Float64Array with missing values already removed;
 * inputs are never mutated.
 */
export type { TestResult } from './test-result.ts';
export { ks2samp, type KsMethod } from './ks-2samp.ts';
export { chiSquareTest } from './chi-square.ts';
export { proportionZTest } from './proportion-z-test.ts';
export { wassersteinDistance, energyDistance } from './cdf-distance.ts';
export {
  jensenShannonDistance,
  psi,
  klDivergence,
  hellingerDistance,
  totalVariationDistance,
} from './share-distances.ts';
export { andersonKSamp, type AndersonResult } from './anderson-ksamp.ts';
export { cramerVonMises2, type CramerVonMisesMethod } from './cramer-von-mises.ts';
export { mannWhitneyU, type MannWhitneyMethod } from './mann-whitney.ts';
export { welchTTest } from './welch-t-test.ts';
export { benjaminiHochberg } from './benjamini-hochberg.ts';
export { chi2Sf, normalSf, studentTSf } from './distributions.ts';
