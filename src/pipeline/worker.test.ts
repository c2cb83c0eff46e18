import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../common/logger.ts';
import { runLoop, type Worker } from './worker.ts';

test('runLoop gives the event loop a turn after every busy step, so timers and I/O run while a worker catches up', async () => {
  // Steps that always find work and settle on promises alone, as one over SQLite and the embedded
  // log does. Without a turn in between, the timer below fires only once the work runs out.
  const LIMIT = 20_000;
  let steps = 0;
  let firedAt: number | undefined;
  const stop = new AbortController();
  const busy: Worker = {
    name: 'busy',
    step: () => {
      if (++steps >= LIMIT) stop.abort();
      return Promise.resolve(1);
    },
  };
  setTimeout(() => {
    firedAt = steps;
    stop.abort();
  }, 1);
  await runLoop(busy, stop.signal, createLogger('test', 'silent'));
  await new Promise((r) => setTimeout(r, 5));
  assert.ok(firedAt !== undefined && firedAt < LIMIT, `the timer fired while the worker was busy (at step ${firedAt} of ${LIMIT})`);
});
