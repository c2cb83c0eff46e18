/* A request thread for worker-thread.test.ts: answers `{ n }` with `{ twice: 2n }`, nothing for `{ n: 0 }`, and fails on a negative `n`. */
import { parentPort } from 'node:worker_threads';
import { serveRequests } from './thread-serve.ts';

if (parentPort) {
  serveRequests<{ n: number }>(
    parentPort,
    ({ n }) => {
      if (n < 0) throw Object.assign(new Error(`negative: ${n}`), { code: 'NEGATIVE' });
      return n === 0 ? undefined : { twice: 2 * n, bytes: new Uint8Array([n, n + 1]) };
    },
    () => undefined,
  );
}
