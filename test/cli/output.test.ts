import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatNumber } from '../../src/cli/output.ts';

describe('formatNumber: table cells of results, metrics and events', () => {
  test('tiny values keep their whole exponent', () => {
    assert.equal(formatNumber(1.333e-10), '1.333e-10');
    assert.equal(formatNumber(1.65e-30), '1.65e-30');
    assert.equal(formatNumber(1.5e-7), '1.5e-7');
    assert.equal(formatNumber(2.2250738585072014e-308), '2.225e-308');
    assert.equal(formatNumber(5e-324), '4.941e-324');
    assert.equal(formatNumber(0.00001), '1e-5');
  });

  test('values from 1e-4 up to 1e6 print plainly with 4 significant digits', () => {
    assert.equal(formatNumber(0.0001234), '0.0001234');
    assert.equal(formatNumber(0.1), '0.1');
    assert.equal(formatNumber(0.123456), '0.1235');
    assert.equal(formatNumber(1.5), '1.5');
    assert.equal(formatNumber(0.99996), '1');
    assert.equal(formatNumber(163.5), '163.5');
    assert.equal(formatNumber(999.95), '1000');
    assert.equal(formatNumber(12345.67), '12346');
  });

  test('huge values', () => {
    assert.equal(formatNumber(123456789.5), '1.235e+8');
    assert.equal(formatNumber(1.5e300), '1.5e+300');
    assert.equal(formatNumber(1e21), '1e+21');
    assert.equal(formatNumber(Number.MAX_VALUE), '1.7976931348623157e+308');
  });

  test('negative values', () => {
    assert.equal(formatNumber(-1.333e-10), '-1.333e-10');
    assert.equal(formatNumber(-0.5), '-0.5');
    assert.equal(formatNumber(-163.25), '-163.3');
    assert.equal(formatNumber(-123456789.5), '-1.235e+8');
    assert.equal(formatNumber(-7), '-7');
  });

  test('integers and zero print whole', () => {
    assert.equal(formatNumber(0), '0');
    assert.equal(formatNumber(-0), '0');
    assert.equal(formatNumber(88), '88');
    assert.equal(formatNumber(1000000), '1000000');
    assert.equal(formatNumber(Number.MAX_SAFE_INTEGER), '9007199254740991');
  });

  test('NaN and infinities', () => {
    assert.equal(formatNumber(Number.NaN), 'NaN');
    assert.equal(formatNumber(Number.POSITIVE_INFINITY), 'Infinity');
    assert.equal(formatNumber(Number.NEGATIVE_INFINITY), '-Infinity');
  });
});
