import { ValidationError } from '../common/errors.ts';
import { startRetention } from '../store/retention.ts';
import type { Stream } from './port.ts';

/** Hours an acknowledged event stays in the stream by default. */
export const DEFAULT_STREAM_RETENTION_HOURS = 24;

/** Background retention of a stream handle: what {@link startStreamRetention} takes. */
export interface StreamRetention {
  /** Acknowledged events older than this go (see `Stream.truncate`). */
  keepMs: number;
  /** Milliseconds between rounds. @default 3600000 */
  intervalMs?: number;
  /** Where failed rounds go (the next round tries again). @default ignored */
  onError?: (err: unknown) => void;
}

/**
 * The stream retention in hours: the option when given, else `MODELWATCH_STREAM_RETENTION_HOURS`,
 * else {@link DEFAULT_STREAM_RETENTION_HOURS}. 0 keeps everything (undefined).
 * @throws ValidationError for a negative or non-numeric value.
 */
export function resolveStreamRetentionHours(option: number | undefined, env: NodeJS.ProcessEnv = process.env): number | undefined {
  const fromEnv = env.MODELWATCH_STREAM_RETENTION_HOURS;
  const value = option ?? (fromEnv === undefined || fromEnv.trim() === '' ? DEFAULT_STREAM_RETENTION_HOURS : Number(fromEnv));
  if (!Number.isFinite(value) || value < 0) {
    const source = option === undefined ? 'MODELWATCH_STREAM_RETENTION_HOURS' : 'streamRetentionHours';
    throw new ValidationError(`${source} must be a number of hours ≥ 0, not '${option ?? fromEnv}'`);
  }
  return value === 0 ? undefined : value;
}

/** The retention a stream gets unless told otherwise: {@link resolveStreamRetentionHours} from the environment; undefined for none. */
export function defaultStreamRetention(env: NodeJS.ProcessEnv = process.env): StreamRetention | undefined {
  const hours = resolveStreamRetentionHours(undefined, env);
  return hours === undefined ? undefined : { keepMs: hours * 3_600_000 };
}

/**
 * Runs `stream.truncate` in the background (a minute after start, then every `intervalMs`; see
 * `startRetention`). Returns the function that stops it; a stream without truncate gets none.
 */
export function startStreamRetention(stream: Stream, retention: StreamRetention | undefined): (() => void) | undefined {
  if (!retention || !stream.truncate) return undefined;
  const keepMs = Math.max(0, retention.keepMs);
  return startRetention(() => stream.truncate!({ olderThanMs: keepMs }), keepMs, {
    ...(retention.intervalMs !== undefined ? { intervalMs: retention.intervalMs } : {}),
    ...(retention.onError ? { onError: retention.onError } : {}),
  });
}
