import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agrees, kernels } from '../../../test/fixtures/stats/cases.ts';
import { chi2Sf, normalSf, studentTSf } from './index.ts';

test('chi2Sf matches scipy.special.chdtrc, including shapes where @stdlib alone drifts', () => {
  for (const [x, k, expected] of kernels.chi2Sf as [number, number, number][]) {
    assert.ok(agrees(chi2Sf(x, k), expected, 1e-11, 0), `chi2Sf(${x}, ${k}) = ${chi2Sf(x, k)} vs ${expected}`);
  }
});

test('normalSf matches scipy.special.ndtr(-z), with relative precision in the far tail', () => {
  for (const [z, expected] of kernels.normalSf as [number, number][]) {
    assert.ok(agrees(normalSf(z), expected, 1e-12, 0), `normalSf(${z}) = ${normalSf(z)} vs ${expected}`);
  }
});

test('studentTSf matches scipy.special.stdtr(df, -t) for integer and fractional df', () => {
  for (const [t, df, expected] of kernels.studentTSf as [number, number, number][]) {
    assert.ok(agrees(studentTSf(t, df), expected, 1e-12, 0), `studentTSf(${t}, ${df}) = ${studentTSf(t, df)} vs ${expected}`);
  }
});

test('edge arguments', () => {
  assert.equal(chi2Sf(-1, 3), 1);
  assert.equal(chi2Sf(Infinity, 3), 0);
  assert.ok(Number.isNaN(chi2Sf(1, 0)));
  assert.equal(normalSf(0), 0.5);
  assert.equal(studentTSf(0, 4.5), 0.5);
  assert.equal(studentTSf(Infinity, 3), 0);
  assert.equal(studentTSf(2, Infinity), normalSf(2));
});
