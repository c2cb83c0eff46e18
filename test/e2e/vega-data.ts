import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { rng } from './helpers.ts';

const require = createRequire(import.meta.url);

/** The rows of a JSON data set that the vega-datasets package ships (`cars`, `penguins`, ...). */
export function vegaRows(name: string): Record<string, unknown>[] {
  const file = path.join(path.dirname(require.resolve('vega-datasets')), '..', 'data', `${name}.json`);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>[];
}

/**
 * A seeded random split: `share` of the rows for training, the rest as traffic, both in shuffled
 * order (data sets sorted by time or group would otherwise make windows unlike the training set).
 */
export function seededSplit<T>(rows: readonly T[], share: number, seed: number): { train: T[]; rest: T[] } {
  const r = rng(seed);
  const order = rows.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(r.uniform() * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  const cut = Math.round(rows.length * share);
  const pick = (idx: number[]): T[] => idx.map((i) => rows[i] as T);
  return { train: pick(order.slice(0, cut)), rest: pick(order.slice(cut)) };
}

/** CSV text of rows (header quoted, strings quoted, null as an empty cell), as a user would export it. */
export function toCsv(names: readonly string[], rows: readonly Record<string, unknown>[]): string {
  const quote = (s: string): string => `"${s.replace(/"/g, '""')}"`;
  const cell = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'string' ? quote(v) : String(v));
  return `${[names.map(quote).join(','), ...rows.map((row) => names.map((n) => cell(row[n])).join(','))].join('\n')}\n`;
}
