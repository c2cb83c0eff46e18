import type { MessagePort } from 'node:worker_threads';

/* The thread's side of a request thread (see worker-thread.ts for the calling side). */

/** To the thread: a request, or the order to finish the ones posted and stop. */
export type ThreadRequest<B> = { type: 'request'; id: number; body: B } | { type: 'stop' };
/**
 * From the thread: running, or a request's answer: what the handler returned (`result`, absent when
 * nothing), or the error's message and code when it failed.
 */
export type ThreadReply = { ready: true } | { id: number; result?: unknown; error?: string; code?: string };

/**
 * The thread's side: answers each request with what `handle` (synchronous) returns, and on stop
 * runs `onStop` and ends. The answer is copied to the calling thread (structured clone).
 */
export function serveRequests<B>(port: MessagePort, handle: (body: B) => unknown, onStop: () => void): void {
  port.on('message', (m: ThreadRequest<B>) => {
    if (m.type === 'stop') {
      onStop();
      port.close();
      return;
    }
    let reply: ThreadReply;
    try {
      const result = handle(m.body);
      reply = result === undefined ? { id: m.id } : { id: m.id, result };
    } catch (err) {
      const e = err as { message?: unknown; code?: unknown } | null;
      reply = { id: m.id, error: String(e?.message ?? err), ...(typeof e?.code === 'string' ? { code: e.code } : {}) };
    }
    port.postMessage(reply);
  });
  port.postMessage({ ready: true } satisfies ThreadReply);
}
