import { InvalidArgumentError } from 'commander';
import { parseTime } from '../common/clock.ts';
import { UsageError } from './errors.ts';

/** Collects a repeatable option into a list. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** A positive whole number. */
export function wholeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number ≥ 1');
  return n;
}

/** A non-negative number. */
export function nonNegative(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number ≥ 0');
  return n;
}

/** `k=v` pairs as strings (labels). */
export function stringPairs(pairs: string[] | undefined, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs ?? []) {
    const i = p.indexOf('=');
    if (i <= 0) throw new UsageError(`${what} '${p}' is not of the form key=value`);
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}

/** `k=v` pairs whose values are read as JSON when they parse (numbers, booleans, lists), else kept as text. */
export function valuePairs(pairs: string[] | undefined, what: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(stringPairs(pairs, what))) {
    try {
      out[k] = JSON.parse(v);
    } catch {
      out[k] = v;
    }
  }
  return out;
}

/** Epoch milliseconds or ISO-8601, as epoch milliseconds. */
export function timeArg(value: string): number {
  try {
    return /^-?\d+$/.test(value) ? Number(value) : parseTime(value);
  } catch {
    throw new InvalidArgumentError('must be an ISO-8601 time or epoch milliseconds');
  }
}

/** `--shutdown-timeout-seconds`: how long a graceful stop may take, from 0.1 s to an hour. */
export function shutdownSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0.1 || n > 3600) throw new InvalidArgumentError('must be a number of seconds from 0.1 to 3600');
  return n;
}

/**
 * The graceful-stop deadline in milliseconds: `--shutdown-timeout-seconds`, else the environment's
 * MODELWATCH_SHUTDOWN_TIMEOUT_SECONDS (how `up` tells its workers), else undefined (the default, 10 s).
 */
export function shutdownDeadlineMs(seconds: number | undefined, env: NodeJS.ProcessEnv = process.env): number | undefined {
  let s = seconds;
  const fromEnv = env.MODELWATCH_SHUTDOWN_TIMEOUT_SECONDS;
  if (s === undefined && fromEnv) {
    try {
      s = shutdownSeconds(fromEnv);
    } catch {
      throw new UsageError(`MODELWATCH_SHUTDOWN_TIMEOUT_SECONDS must be a number of seconds from 0.1 to 3600, got '${fromEnv}'`);
    }
  }
  return s === undefined ? undefined : Math.round(s * 1000);
}

/** `--max-upload-mb`: megabytes (MiB), from 1 to 512 (a JSON body is read as one string, and V8 strings stop short of 1 GB). */
export function uploadMegabytes(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 1 || n > 512) throw new InvalidArgumentError('must be a number of megabytes from 1 to 512');
  return n;
}
