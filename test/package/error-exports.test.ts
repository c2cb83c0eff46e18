import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as errors from '../../src/common/errors.ts';
import * as entry from '../../src/index.ts';

test('every error class the SDK throws is exported from the package entry, so users can catch it by class', () => {
  const classes = Object.entries(errors).filter(([, v]) => typeof v === 'function' && (v === errors.ModelwatchError || v.prototype instanceof errors.ModelwatchError));
  assert.ok(classes.length >= 10, classes.map(([n]) => n).join(', '));
  const missing = classes.filter(([name, cls]) => (entry as Record<string, unknown>)[name] !== cls).map(([name]) => name);
  assert.deepEqual(missing, []);
});
