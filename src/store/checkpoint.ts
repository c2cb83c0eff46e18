import { compareOffsets } from '../stream/port.ts';
import type { IngestCheckpoint } from './tsdb-port.ts';

/** `code` of the error a batch fails with when its `checkpoint.after` is no longer the stored position. */
export const STALE_CHECKPOINT = 'stale_checkpoint';

/** The error of {@link STALE_CHECKPOINT}. */
export function staleCheckpointError(cp: IngestCheckpoint, stored: string | undefined): Error {
  return Object.assign(
    new Error(`the ingest checkpoint of ${cp.consumer} partition ${cp.partition} is ${stored ?? 'unset'}, not ${cp.after ?? 'unset'} as when the batch was read: read it again`),
    { code: STALE_CHECKPOINT },
  );
}

/**
 * Whether a batch moving the checkpoint to `cp` is written already, the stored checkpoint being
 * `stored` ('' or undefined: none yet): true when it is at or past the batch's offset (see
 * {@link IngestCheckpoint}). Run inside the batch's transaction, with the checkpoint row locked.
 * @throws the {@link staleCheckpointError} when `cp.after` is given and `stored` is another
 */
export function checkpointDone(cp: IngestCheckpoint, stored: string | undefined): boolean {
  const at = stored === '' ? undefined : stored;
  if (at !== undefined && compareOffsets(at, cp.offset) >= 0) return true;
  if (cp.after !== undefined && (cp.after ?? undefined) !== at) throw staleCheckpointError(cp, at);
  return false;
}
