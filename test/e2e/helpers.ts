import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A fresh temporary home folder, removed by the returned cleanup. */
export function tempHome(prefix = 'mw-e2e-'): { home: string; cleanup: () => void } {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { home, cleanup: () => fs.rmSync(home, { recursive: true, force: true }) };
}

/** Deterministic pseudo-random numbers (mulberry32) and normal draws (Box–Muller). */
export function rng(seed: number): { uniform: () => number; normal: (mean?: number, sd?: number) => number } {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = (mean = 0, sd = 1) => mean + sd * Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  return { uniform, normal };
}
