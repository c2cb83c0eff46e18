/**
 * Summarises a `.cpuprofile` written by `node --cpu-prof`: self and total time per function, as
 * shares of the sampled time. `node --import tsx bench/lib/cpu-profile.ts FILE [--top N] [--match RE]`
 * (`--match` keeps functions whose name or file matches, e.g. `tracking|serving`).
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
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string' }, match: { type: 'string' }, by: { type: 'string' } } });
  const file = positionals[0];
  if (!file) throw new Error('usage: cpu-profile.ts FILE [--top N] [--match RE] [--by self|total]');
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
