/**
 * Summarises a `.cpuprofile` written by `node --cpu-prof`: self and total time per function, as
 * shares of the sampled time. `node --import tsx bench/lib/cpu-profile.ts FILE [--top N] [--match RE]`
 * (`--match` keeps functions whose name or file matches, e.g. `tracking|serving`).
 *
 * `--split SWITCHES` (the serving benchmark's `switches.json`, see bench/lib/serving-target.ts):
 * the samples taken in phases with tracking on against those with it off, by self time: each
 * function's milliseconds on each side, and on minus off with the 'on' side scaled to the 'off'
 * side's sampled time, largest first (then the most negative), which is what tracking added to (or
 * took from) each function of the event loop. The two sides alternate every few hundred
 * milliseconds, so a machine that slows down or speeds up weighs on both alike.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  /** Microseconds, `process.hrtime`'s clock; sample `i` was taken at `startTime + Σ timeDeltas[0..i]`. */
  startTime: number;
}

/** A function's self time in the 'on' and 'off' phases of a serving profile (see {@link splitByPhase}). */
export interface SplitCost {
  name: string;
  where: string;
  offMs: number;
  onMs: number;
  /** `onMs` scaled to the 'off' side's sampled time, minus `offMs`. */
  addedMs: number;
}

/**
 * Self time per function in the phases that `switches` (`[µs, side]`, in time order; side `null`:
 * no phase) mark as 'on' and as 'off'; samples outside phases are left out.
 */
export function splitByPhase(profile: Profile, switches: readonly [number, 'on' | 'off' | null][]): { onMs: number; offMs: number; functions: SplitCost[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const sides = { on: new Map<string, number>(), off: new Map<string, number>() };
  const totals = { on: 0, off: 0 };
  let t = profile.startTime;
  let k = 0;
  let side: 'on' | 'off' | null = null;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    t += dt;
    while (k < switches.length && switches[k]![0] <= t) side = switches[k++]![1];
    const leaf = byId.get(id);
    if (side === null || !leaf) return;
    const key = `${leaf.callFrame.functionName || '(anonymous)'}\u0000${leaf.callFrame.url.replace(/^file:\/\//, '')}:${leaf.callFrame.lineNumber + 1}`;
    sides[side].set(key, (sides[side].get(key) ?? 0) + dt / 1000);
    totals[side] += dt / 1000;
  });
  const scale = totals.on > 0 ? totals.off / totals.on : 0;
  const keys = new Set([...sides.on.keys(), ...sides.off.keys()]);
  const functions = [...keys].map((key) => {
    const [name, where] = key.split('\u0000') as [string, string];
    const onMs = sides.on.get(key) ?? 0;
    const offMs = sides.off.get(key) ?? 0;
    return { name, where, onMs, offMs, addedMs: onMs * scale - offMs };
  });
  functions.sort((a, b) => b.addedMs - a.addedMs);
  return { onMs: totals.on, offMs: totals.off, functions };
}

/** One function's share of the profile. */
export interface FunctionCost {
  name: string;
  where: string;
  selfMs: number;
  totalMs: number;
}

/** Self and total (inclusive, counted once per stack) milliseconds per function, largest self first. */
export function summarise(profile: Profile): { totalMs: number; functions: FunctionCost[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (n: ProfileNode): string => `${n.callFrame.functionName || '(anonymous)'}\u0000${n.callFrame.url.replace(/^file:\/\//, '')}:${n.callFrame.lineNumber + 1}`;
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let all = 0;
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    all += dt;
    const leaf = byId.get(id);
    if (!leaf) return;
    self.set(key(leaf), (self.get(key(leaf)) ?? 0) + dt);
    const seen = new Set<string>();
    for (let n: ProfileNode | undefined = leaf; n; n = byId.get(parent.get(n.id) ?? -1)) {
      const k = key(n);
      if (seen.has(k)) continue;
      seen.add(k);
      total.set(k, (total.get(k) ?? 0) + dt);
    }
  });
  const functions = [...total.entries()].map(([k, t]) => {
    const [name, where] = k.split('\u0000') as [string, string];
    return { name, where, selfMs: self.get(k) ?? 0, totalMs: t };
  });
  functions.sort((a, b) => b.selfMs - a.selfMs);
  return { totalMs: all, functions };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '\u0000')) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string' }, match: { type: 'string' }, by: { type: 'string' }, split: { type: 'string' } } });
  const file = positionals[0];
  if (!file) throw new Error('usage: cpu-profile.ts FILE [--top N] [--match RE] [--by self|total] [--split SWITCHES]');
  if (values.split) {
    const switches = JSON.parse(readFileSync(values.split, 'utf8')) as [number, 'on' | 'off' | null][];
    const { onMs, offMs, functions } = splitByPhase(JSON.parse(readFileSync(file, 'utf8')) as Profile, switches);
    const top = Number(values.top ?? 30);
    const ms = (x: number): string => x.toFixed(1).padStart(9);
    process.stdout.write(`sampled ${(offMs / 1000).toFixed(2)} s with tracking off, ${(onMs / 1000).toFixed(2)} s on (on scaled to off below)\n      off        on     added  function\n`);
    const line = (f: SplitCost): void => void process.stdout.write(`${ms(f.offMs)} ${ms(f.onMs)} ${ms(f.addedMs)}  ${f.name}  ${f.where.replace(process.cwd() + '/', '')}\n`);
    for (const f of functions.slice(0, top)) line(f);
    process.stdout.write('...\n');
    for (const f of functions.slice(-Math.min(10, Math.max(0, functions.length - top)))) line(f);
    process.exit(0);
  }
  const { totalMs, functions } = summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile);
  const re = values.match ? new RegExp(values.match) : undefined;
  const rows = functions.filter((f) => !re || re.test(f.name) || re.test(f.where));
  if (values.by === 'total') rows.sort((a, b) => b.totalMs - a.totalMs);
  const pct = (ms: number): string => `${((100 * ms) / totalMs).toFixed(1).padStart(5)}%`;
  process.stdout.write(`sampled ${(totalMs / 1000).toFixed(2)} s\n  self   total  function\n`);
  for (const f of rows.slice(0, Number(values.top ?? 40))) {
    process.stdout.write(`${pct(f.selfMs)} ${pct(f.totalMs)}  ${f.name}  ${f.where.replace(process.cwd() + '/', '')}\n`);
  }
}
