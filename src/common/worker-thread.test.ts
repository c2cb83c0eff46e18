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

  it("answers each request with what the thread's handler returned, in the order posted, and its errors with their code", async () => {
    const client = new ThreadClient<{ n: number }, { twice: number; bytes: Uint8Array } | undefined>({
      entry: new URL('./answer-thread.fixture.ts', import.meta.url),
      workerData: undefined,
      unavailable: () => new Error('the thread is not running'),
      stopTimeoutMs: 2000,
    });
    client.start();
    try {
      assert.equal(await client.started, true);
      const answers = await Promise.all([1, 2, 0, 3].map((n) => client.request({ n })));
      assert.deepEqual(
        answers.map((a) => a && { twice: a.twice, bytes: [...a.bytes] }),
        [{ twice: 2, bytes: [1, 2] }, { twice: 4, bytes: [2, 3] }, undefined, { twice: 6, bytes: [3, 4] }],
      );
      await assert.rejects(client.request({ n: -1 }), (err: Error & { code?: string }) => err.message === 'negative: -1' && err.code === 'NEGATIVE');
      assert.deepEqual((await client.request({ n: 5 }))?.twice, 10, 'answers go on after an error');
    } finally {
      await client.stop();
    }
  });
});
