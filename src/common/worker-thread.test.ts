import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { THREAD_RESOURCE_LIMITS, ThreadClient } from './worker-thread.ts';

/** The heap limits a request thread runs with, as it reports them. */
async function limitsOf(client: ThreadClient<unknown>): Promise<Record<string, number>> {
  client.start();
  assert.equal(await client.started, true);
  try {
    await client.request({});
    throw new Error('the thread answered without its limits');
  } catch (err) {
    return JSON.parse((err as Error).message) as Record<string, number>;
  } finally {
    await client.stop();
  }
}

const thread = (resourceLimits?: { maxYoungGenerationSizeMb: number }) =>
  new ThreadClient<unknown>({
    entry: new URL('./limits-thread.fixture.ts', import.meta.url),
    workerData: undefined,
    unavailable: () => new Error('the thread is not running'),
    stopTimeoutMs: 2000,
    ...(resourceLimits ? { resourceLimits } : {}),
  });

describe('ThreadClient', () => {
  it('runs its thread with a small young generation unless told otherwise', async () => {
    assert.equal((await limitsOf(thread())).maxYoungGenerationSizeMb, THREAD_RESOURCE_LIMITS.maxYoungGenerationSizeMb);
    assert.equal(THREAD_RESOURCE_LIMITS.maxYoungGenerationSizeMb, 8);
    assert.equal((await limitsOf(thread({ maxYoungGenerationSizeMb: 24 }))).maxYoungGenerationSizeMb, 24);
  });
});
