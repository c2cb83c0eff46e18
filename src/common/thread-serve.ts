import type { MessagePort } from 'node:worker_threads';

/* The thread's side of a request thread (see worker-thread.ts for the calling side). */

/** To the thread: a request, or the order to finish the ones posted and stop. */
export type ThreadRequest<B> = { type: 'request'; id: number; body: B } | { type: 'stop' };
/** From the thread: running, or a request's answer (with the error's message and code when it failed). */
export type ThreadReply = { ready: true } | { id: number; error?: string; code?: string };

/** The thread's side: answers each request with `handle` (synchronous), and on stop runs `onStop` and ends. */
export function serveRequests<B>(port: MessagePort, handle: (body: B) => void, onStop: () => void): void {
  port.on('message', (m: ThreadRequest<B>) => {
    if (m.type === 'stop') {
      onStop();
      port.close();
      return;
    }
    let reply: ThreadReply;
    try {
      handle(m.body);
      reply = { id: m.id };
    } catch (err) {
      const e = err as { message?: unknown; code?: unknown } | null;
      reply = { id: m.id, error: String(e?.message ?? err), ...(typeof e?.code === 'string' ? { code: e.code } : {}) };
    }
    port.postMessage(reply);
  });
  port.postMessage({ ready: true } satisfies ThreadReply);
}
