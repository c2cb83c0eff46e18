/**
 * Benchmark runner: `npm run bench` runs every `bench/*.bench.ts`, `npm run bench -- NAME
 * [NAME...]` the named ones (extra `--key value` arguments are handed to the benchmarks).
 * Each benchmark module exports `bench: Benchmark`; the runner prints a table per benchmark
 * and writes `bench/results/NAME.json` (`NAME.BACKEND.json` with `--backend`):
 * `{ name, date, commit, cores, figures, baseline, ratio, target, better }`.
 *
 * Numbers are targets for the benchmarks, never assertions in `npm test`.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** A figure: a number with its unit, or free text. */
export type Figure = number | string;

/** What a benchmark reports. */
export interface BenchResult {
  /** Our measurements (seconds, MB, rows/s, ...), keyed by a name that says the unit. */
  figures: Record<string, Figure>;
  /** The baseline measured in the same run (or the anchor, for absolute targets). */
  baseline: Record<string, Figure>;
  /** Headline figure: ours / baseline (or the measured figure for absolute targets). */
  ratio: number;
  target: number;
  better: 'higher' | 'lower';
}

/** Arguments handed to a benchmark: `--key value` pairs after the names. */
export type BenchArgs = Readonly<Record<string, string>>;

/** A benchmark module's export. */
export interface Benchmark {
  name: string;
  description: string;
  run(args: BenchArgs, log: (line: string) => void): Promise<BenchResult>;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));

/**
 * The commit a result measured: HEAD, with `+changes` when the working tree differed from it
 * (tracked files only), or `unknown` outside a git checkout.
 */
export function measuredCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: HERE, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: HERE, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head}+changes` : head;
  } catch {
    return 'unknown';
  }
}

/** Prints figures as an aligned two-column table. */
export function printTable(title: string, rows: Record<string, Figure>): void {
  const width = Math.max(...Object.keys(rows).map((k) => k.length), 10);
  process.stdout.write(`\n${title}\n${'-'.repeat(title.length)}\n`);
  for (const [k, v] of Object.entries(rows)) process.stdout.write(`${k.padEnd(width)}  ${typeof v === 'number' ? formatNumber(v) : v}\n`);
}

function formatNumber(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(1) : Math.abs(v) >= 1 ? v.toFixed(3) : v.toPrecision(3);
}

/**
 * `NAME.json` on the default backend; `NAME.BACKEND.json` (e.g. `ingest.postgres+nats.json`) when
 * `--backend` names another, so that each backend's last run is kept.
 */
export function resultFile(name: string, args: BenchArgs): string {
  const backend = args.backend;
  const base = backend && backend !== 'sqlite+embedded' && backend !== 'embedded' ? `${name}.${backend}` : name;
  // An A/A check (serving `--aa`) is kept apart from the real figures.
  return args.aa !== undefined ? `${base}.aa.json` : `${base}.json`;
}

function parseArgs(argv: string[]): { names: string[]; args: Record<string, string> } {
  const names: string[] = [];
  const args: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) args[a.slice(2, eq)] = a.slice(eq + 1);
      else {
        const next = argv[i + 1];
        if (next !== undefined && !next.startsWith('--')) {
          args[a.slice(2)] = next;
          i++;
        } else args[a.slice(2)] = 'true';
      }
    } else names.push(a);
  }
  return { names, args };
}

async function main(): Promise<void> {
  const { names, args } = parseArgs(process.argv.slice(2));
  const files = (await readdir(HERE)).filter((f) => f.endsWith('.bench.ts')).sort();
  const available = files.map((f) => f.slice(0, -'.bench.ts'.length));
  const unknown = names.filter((n) => !available.includes(n));
  if (unknown.length > 0) {
    process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; available: ${available.join(', ')}\n`);
    process.exit(2);
  }
  const selected = names.length > 0 ? names : available;
  const summary: Record<string, Figure> = {};
  // Read before any benchmark runs (some write result files, which would count as changes).
  const commit = measuredCommit();
  let failed = false;
  for (const name of selected) {
    const mod = (await import(pathToFileURL(path.join(HERE, `${name}.bench.ts`)).href)) as { bench?: Benchmark };
    if (!mod.bench) {
      process.stderr.write(`${name}.bench.ts exports no 'bench'\n`);
      failed = true;
      continue;
    }
    process.stdout.write(`\n== ${name}: ${mod.bench.description}\n`);
    try {
      const r = await mod.bench.run(args, (line) => process.stdout.write(`  ${line}\n`));
      const record = { name, date: new Date().toISOString(), commit, cores: os.cpus().length, ...(args.backend ? { backend: args.backend } : {}), ...r };
      await mkdir(path.join(HERE, 'results'), { recursive: true });
      await writeFile(path.join(HERE, 'results', resultFile(name, args)), `${JSON.stringify(record, null, 2)}\n`);
      printTable(`${name}: figures`, r.figures);
      printTable(`${name}: baseline`, r.baseline);
      const met = r.better === 'lower' ? r.ratio <= r.target : r.ratio >= r.target;
      summary[name] = `ratio ${formatNumber(r.ratio)} (target ${r.better === 'lower' ? '<=' : '>='} ${r.target}) ${met ? 'MET' : 'NOT MET'}`;
    } catch (err) {
      failed = true;
      summary[name] = `failed: ${(err as Error).message}`;
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    }
  }
  printTable('summary', summary);
  if (failed) process.exitCode = 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
