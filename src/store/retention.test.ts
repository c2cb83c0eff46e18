import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../common/errors.ts';
import { resolveRetentionDays, startRetention } from './retention.ts';

describe('retention settings', () => {
  it('takes the option over MODELWATCH_RETENTION_DAYS, and 0 or nothing as keep everything', () => {
    assert.equal(resolveRetentionDays(undefined, {}), undefined);
    assert.equal(resolveRetentionDays(undefined, { MODELWATCH_RETENTION_DAYS: '30' }), 30);
    assert.equal(resolveRetentionDays(7, { MODELWATCH_RETENTION_DAYS: '30' }), 7);
    assert.equal(resolveRetentionDays(0, { MODELWATCH_RETENTION_DAYS: '30' }), undefined);
    assert.equal(resolveRetentionDays(undefined, { MODELWATCH_RETENTION_DAYS: ' ' }), undefined);
    assert.equal(resolveRetentionDays(undefined, { MODELWATCH_RETENTION_DAYS: '0.5' }), 0.5);
    assert.throws(() => resolveRetentionDays(undefined, { MODELWATCH_RETENTION_DAYS: 'month' }), ValidationError);
    assert.throws(() => resolveRetentionDays(-1, {}), ValidationError);
  });

  it('prunes in the background at the cutoff of now minus the retention, and reports failures', async () => {
    const cutoffs: number[] = [];
    const errors: unknown[] = [];
    const stop = startRetention(
      async (cutoff) => {
        cutoffs.push(cutoff);
        if (cutoffs.length === 1) throw new Error('server away');
      },
      2 * 86_400_000,
      { intervalMs: 10, now: () => 10 * 86_400_000, onError: (e) => errors.push(e) },
    );
    await new Promise((r) => setTimeout(r, 60));
    stop();
    const seen = cutoffs.length;
    await new Promise((r) => setTimeout(r, 30));
    assert.ok(seen >= 2, `ran ${seen} rounds`);
    assert.equal(cutoffs.length, seen, 'stopped');
    assert.ok(cutoffs.every((c) => c === 8 * 86_400_000));
    assert.equal(errors.length, 1);
  });
});
