import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitmix64 } from '../../../test/fixtures/histogram/cases.ts';
import { uniformStream, versions } from '../../../test/fixtures/stats/cases.ts';

test('the fast 32-bit splitmix64 of the stats fixtures equals the BigInt original', () => {
  for (const seed of [0, 1, 101, 4294967295, 4294967296, 123456789012]) {
    const reference = splitmix64(seed);
    const fast = uniformStream(seed);
    for (let i = 0; i < 20000; i++) assert.equal(fast(), reference.next().value, `seed ${seed}, draw ${i}`);
  }
});

test('fixtures record the numpy and scipy versions that produced them', () => {
  assert.match(versions.numpy, /^\d+\.\d+/);
  assert.match(versions.scipy, /^\d+\.\d+/);
});
