import { ValidationError } from '../common/errors.ts';

/**
 * The deadline and memory limit of each run of a monitoring application, given among its
 * registration options (`setModelMonitoringFunction({ ..., options: { timeoutSeconds: 30,
 * memoryLimitMb: 256 } })`, the CLI's `--option timeoutSeconds=30`, REST `options`). They are the
 * platform's, not the app's: the app sees its options without them.
 */
export interface RunLimits {
  /** A run (one window of one endpoint) that takes longer is stopped and recorded as `mm-app-failed`, in seconds. Unset or null: 60. */
  timeoutSeconds: number;
  /** The app's thread's JavaScript heap, and the buffers it holds after a run, in MB. Unset or null: 512. */
  memoryLimitMb: number;
}

/** The option names of {@link RunLimits}. */
export const RUN_LIMIT_OPTIONS: readonly string[] = ['timeoutSeconds', 'memoryLimitMb'];

export const DEFAULT_RUN_LIMITS: Readonly<RunLimits> = { timeoutSeconds: 60, memoryLimitMb: 512 };

const MAX_TIMEOUT_SECONDS = 86_400;
// Below this the thread cannot load an app's code at all; above it V8 does not go on 64-bit.
const MIN_MEMORY_MB = 32;
const MAX_MEMORY_MB = 65_536;

/**
 * The run limits among `options`, with their defaults.
 * @throws ValidationError for a timeoutSeconds that is not a number in (0, 86400], or a
 *   memoryLimitMb that is not a whole number in [32, 65536]
 */
export function runLimits(options: Record<string, unknown> | undefined): RunLimits {
  const t = options?.timeoutSeconds ?? DEFAULT_RUN_LIMITS.timeoutSeconds;
  if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0 || t > MAX_TIMEOUT_SECONDS) {
    throw new ValidationError(`option timeoutSeconds must be a number of seconds above 0 and at most ${MAX_TIMEOUT_SECONDS}, got ${JSON.stringify(t)}`);
  }
  const m = options?.memoryLimitMb ?? DEFAULT_RUN_LIMITS.memoryLimitMb;
  if (typeof m !== 'number' || !Number.isInteger(m) || m < MIN_MEMORY_MB || m > MAX_MEMORY_MB) {
    throw new ValidationError(`option memoryLimitMb must be a whole number of megabytes from ${MIN_MEMORY_MB} to ${MAX_MEMORY_MB}, got ${JSON.stringify(m)}`);
  }
  return { timeoutSeconds: t, memoryLimitMb: m };
}

/** `options` without the run limits: what the app itself is given. */
export function appOptions(options: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options ?? {})) if (!RUN_LIMIT_OPTIONS.includes(k)) out[k] = v;
  return out;
}
