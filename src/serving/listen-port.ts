import { errorMessage } from '../common/errors.ts';

/** Where a serving function listens: the port its spec names, or the one it had before. */
export interface PortChoice {
  /** The spec's port: listened on or the start fails. 0 or undefined: none. */
  port?: number;
  /**
   * The port the function listened on before (the supervisor hands it to a restarted worker, so that
   * its address stays): tried first, then, if it stays busy, any free port.
   */
  preferredPort?: number;
  /** How long a busy port (EADDRINUSE) is tried again. @default 5000 */
  retryMs?: number;
  /** Told when a preferred port stays busy and another is taken. */
  onFallback?(port: number, err: unknown): void;
}

/** Time between two tries of a busy port. */
const RETRY_EVERY_MS = 100;

/**
 * Calls `listen(port)` on the port `choice` names. A port in use (a process that just died may leave
 * it briefly held; a client connection may have been given it as its own port meanwhile) is tried
 * again every 100 ms for `retryMs`; then a port of the spec fails with the error, and a preferred
 * port gives way to any free port. Returns what `listen` returns.
 */
export async function listenOnChosenPort<T>(listen: (port: number) => Promise<T>, choice: PortChoice): Promise<T> {
  const wanted = choice.port || choice.preferredPort || 0;
  if (wanted === 0) return listen(0);
  const deadline = Date.now() + (choice.retryMs ?? 5000);
  for (;;) {
    try {
      return await listen(wanted);
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'EADDRINUSE') throw err;
      if (Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, RETRY_EVERY_MS));
        continue;
      }
      if (choice.port) throw new Error(`port ${wanted} stayed in use for ${choice.retryMs ?? 5000} ms: ${errorMessage(err)}`, { cause: err });
      choice.onFallback?.(wanted, err);
      return listen(0);
    }
  }
}
