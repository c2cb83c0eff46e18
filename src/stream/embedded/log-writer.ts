import { ThreadClient } from '../../common/worker-thread.ts';
import { StreamUnavailableError } from '../errors.ts';
import type { LogAppend, LogWriterThreadData } from './log-writer-thread.ts';
import { moduleUrl } from '../../common/module-url.ts';

/*
 * A process that publishes to the embedded log writes it from a thread of its own, with its own
 * connection (log-writer-thread.ts): its event loop only encodes the packs and posts them.
 *
 * - Appends: in a serving process the INSERT transactions were half of what tracking cost the
 *   event loop per request (measured with `npm run bench -- serving --profile`); on the thread
 *   they run on the other core. Appends are done
 *   in the order they were posted, each in one IMMEDIATE transaction that numbers its events,
 *   exactly as on the event loop.
 * - Checkpoints (copying the WAL into the database file, with two fsyncs) were done by whichever
 *   connection committed past `wal_autocheckpoint`: the serving event loop, held for tens of
 *   milliseconds every 16 MB of events (measured: 48–55 ms stalls, against 7–15 ms without
 *   tracking). The thread runs a PASSIVE checkpoint every `checkpointIntervalMs` instead.
 *
 * Until the thread runs (its script is bundled once per process, see thread-script.ts) and after
 * it has failed, the process packs and appends on its own connection. Appends waiting for a thread
 * that dies reject with StreamUnavailableError (the tracker retries them).
 */

/** What a log writer thread needs. */
export interface LogWriterOptions extends LogWriterThreadData {
  /** Called once if the thread cannot start or dies; the caller then writes and checkpoints on its own again. */
  onFailure: (err: Error) => void;
}

/** The thread that appends to and checkpoints one embedded log file (see above). */
export function logWriterThread(opts: LogWriterOptions): ThreadClient<LogAppend> {
  const { onFailure, ...workerData } = opts;
  return new ThreadClient<LogAppend>({
    entry: moduleUrl('./log-writer-thread.ts', import.meta.url),
    external: ['better-sqlite3'],
    workerData: workerData satisfies LogWriterThreadData,
    unavailable: (failure) => new StreamUnavailableError(`sqlite://${opts.file}`, `its writer thread stopped${failure ? `: ${failure.message}` : ''}`, failure),
    onFailure,
    stopTimeoutMs: 2000,
  });
}
