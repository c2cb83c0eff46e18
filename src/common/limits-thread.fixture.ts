/* A request thread for worker-thread.test.ts: answers every request with an error whose message is its heap limits. */
import { parentPort, resourceLimits } from 'node:worker_threads';
import { serveRequests } from './thread-serve.ts';

if (parentPort) {
  serveRequests(
    parentPort,
    () => {
      throw new Error(JSON.stringify(resourceLimits));
    },
    () => undefined,
  );
}
