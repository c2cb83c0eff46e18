import type { BenchArgs } from '../main.ts';

/** A whole-number option `--key` of at least `min`, or `dflt` when not given. */
export function whole(args: BenchArgs, key: string, dflt: number, min = 1): number {
  const v = args[key] === undefined ? dflt : Number(args[key]);
  if (!Number.isInteger(v) || v < min) throw new Error(`--${key} must be a whole number >= ${min}, got '${String(args[key])}'`);
  return v;
}

/** The median of runs: the headline of a benchmark, never the best run. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const r1 = (x: number): number => Math.round(x * 10) / 10;
export const r3 = (x: number): number => Math.round(x * 1000) / 1000;
