import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agrees, kernels } from '../../../test/fixtures/stats/cases.ts';
import { kstwoSf } from './kolmogorov-n.ts';
import { outerProbInside, probOutsideSquare } from './ks-exact.ts';
import { smirnovSf } from './smirnov.ts';

// Every branch of scipy's _kolmogn is hit by the grid: Ruben–Gambino ends, Durbin matrix,
// Pomeranz, Pelz–Good and 2·smirnov, on both sides of n = 140 and n = 100000.
test('kstwoSf matches scipy.stats.kstwo.sf on a grid over n and x', () => {
  for (const [x, n, expected] of kernels.kstwoSf as [number, number, number][]) {
    // scipy evaluates part of the Pomeranz and Durbin paths in 80-bit long double; in double
    // we agree to ~3e-12 relative (well inside the 1e-9 bar).
    assert.ok(agrees(kstwoSf(x, n), expected, 1e-10, 1e-15), `kstwoSf(${x}, ${n}) = ${kstwoSf(x, n)} vs ${expected}`);
  }
});

test('smirnovSf matches scipy.special.smirnov', () => {
  for (const [n, x, expected] of kernels.smirnovSf as [number, number, number][]) {
    assert.ok(agrees(smirnovSf(n, x), expected, 1e-13, 0), `smirnov(${n}, ${x}) = ${smirnovSf(n, x)} vs ${expected}`);
  }
});

test("exact KS path counts match scipy's to the last bit", () => {
  for (const [n, h, expected] of kernels.probOutsideSquare as [number, number, number][]) {
    assert.equal(probOutsideSquare(n, h), expected, `square(${n}, ${h})`);
  }
  for (const [m, n, g, h, expected] of kernels.outerProbInside as [number, number, number, number, number][]) {
    assert.equal(outerProbInside(m, n, g, h), expected, `inside(${m}, ${n}, ${g}, ${h})`);
  }
});
