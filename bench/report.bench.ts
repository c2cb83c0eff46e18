/**
 * `report` benchmark (issues 3 and 5): the default data-drift report's statistics on
 * 1,000,000 reference + 1,000,000 current rows × 20 numeric columns, against numpy/scipy
 * doing the same on the same data in the same run (`bench/report_baseline.py`); the whole
 * CLI run on the CSV files; peak memory; growth in rows and columns; a wide 200 × 100k run.
 *
 * Arguments: `--rows N` (default 1000000), `--cols N` (20), `--data DIR` (cached inputs,
 * default in the OS temp folder), `--skip-python`, `--skip-cli`, `--skip-growth`, `--skip-wide`.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeArgs } from '../src/common/module-url.ts';
import { dataDriftReport } from '../src/report/data-drift-report.ts';
import type { DataDriftReport } from '../src/report/types.ts';
import type { BenchArgs, BenchResult, Benchmark, Figure } from './main.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// The CLI from the sources, as the rest of the benchmarks run (bench/cli-startup.bench.ts times the compiled one).
const CLI = nodeArgs(new URL('../src/cli/main.ts', import.meta.url));
const BASELINE = path.join(ROOT, 'bench', 'report_baseline.py');
const DATA_VERSION = 1;
const SEED = 20240607;

/** Uniform doubles in [0, 1) from sfc32 (53 bits from two 32-bit outputs), seeded. */
function random(seed: number): () => number {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 15; i++) next();
  return () => ((next() >>> 5) * 67108864 + (next() >>> 6)) / 9007199254740992;
}

/**
 * Column `k` of one side: a mix of shapes (normal, lognormal, integers on bin edges, uniform,
 * exponential, ages, mixtures), some shifted in current, rounded to 4 decimals.
 */
function column(k: number, rows: number, current: boolean): Float64Array {
  const u = random(SEED + k * 7919 + (current ? 1 : 0));
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  const shift = current && k % 3 === 0 ? 0.15 * (1 + (k % 4)) : 0;
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let x: number;
    switch (k % 8) {
      case 0:
        x = normal() + shift;
        break;
      case 1:
        x = 50 + 10 * (normal() + shift);
        break;
      case 2:
        x = Math.exp(normal() + shift);
        break;
      case 3:
        x = Math.floor(u() * (100 + shift * 20));
        break;
      case 4:
        x = -5 + 10 * u() + shift;
        break;
      case 5:
        x = -Math.log(1 - u()) + shift;
        break;
      case 6:
        x = 18 + Math.floor(u() * (60 + shift * 10));
        break;
      default:
        x = u() < 0.3 ? normal() - 2 : 2 + 0.5 * normal() + shift;
    }
    out[i] = Math.round(x * 1e4) / 1e4;
  }
  return out;
}

interface Dataset {
  reference: Record<string, Float64Array>;
  current: Record<string, Float64Array>;
}

function generate(rows: number, cols: number): Dataset {
  const reference: Record<string, Float64Array> = {};
  const current: Record<string, Float64Array> = {};
  for (let k = 0; k < cols; k++) {
    reference[`c${k}`] = column(k, rows, false);
    current[`c${k}`] = column(k, rows, true);
  }
  return { reference, current };
}

function slice(d: Dataset, rows: number, cols: number): Dataset {
  const pick = (side: Record<string, Float64Array>): Record<string, Float64Array> =>
    Object.fromEntries(Object.entries(side).slice(0, cols).map(([n, v]) => [n, v.subarray(0, rows)]));
  return { reference: pick(d.reference), current: pick(d.current) };
}

async function writeCsv(file: string, side: Record<string, Float64Array>, rows: number): Promise<void> {
  const names = Object.keys(side);
  const cols = names.map((n) => side[n] as Float64Array);
  const out = createWriteStream(file);
  let failure: Error | undefined;
  out.on('error', (err) => (failure = err));
  const write = async (s: string): Promise<void> => {
    if (failure) throw failure;
    if (!out.write(s)) await once(out, 'drain');
  };
  await write(`${names.join(',')}\n`);
  const block = 5000;
  for (let r0 = 0; r0 < rows; r0 += block) {
    const lines: string[] = [];
    for (let r = r0; r < Math.min(rows, r0 + block); r++) {
      let line = String(cols[0]?.[r]);
      for (let c = 1; c < cols.length; c++) line += `,${(cols[c] as Float64Array)[r] as number}`;
      lines.push(line);
    }
    await write(`${lines.join('\n')}\n`);
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

/** Column-major raw float64 for numpy. */
async function writeRaw(file: string, side: Record<string, Float64Array>): Promise<void> {
  const cols = Object.values(side);
  const rows = cols[0]?.length ?? 0;
  const all = new Float64Array(rows * cols.length);
  cols.forEach((c, i) => all.set(c, i * rows));
  await writeFile(file, new Uint8Array(all.buffer));
}

async function readRaw(file: string, rows: number, cols: number): Promise<Record<string, Float64Array>> {
  const buf = await readFile(file);
  const all = new Float64Array(buf.buffer, buf.byteOffset, rows * cols);
  const out: Record<string, Float64Array> = {};
  for (let c = 0; c < cols; c++) out[`c${c}`] = all.subarray(c * rows, (c + 1) * rows);
  return out;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, seconds: (performance.now() - t0) / 1000 }));
  });
}

/** Runs the CLI under /usr/bin/time -v (when present): wall seconds and peak RSS in MB. */
async function timedCli(args: string[]): Promise<{ seconds: number; peakRssMb: number | undefined }> {
  const hasTime = existsSync('/usr/bin/time');
  const r = hasTime ? await run('/usr/bin/time', ['-v', process.execPath, ...CLI, ...args]) : await run(process.execPath, [...CLI, ...args]);
  if (r.code !== 0) throw new Error(`modelwatch ${args.join(' ')} failed (${String(r.code)}): ${r.stderr.slice(-2000)}`);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
  return { seconds: r.seconds, peakRssMb: rss ? Number(rss[1]) / 1024 : undefined };
}

function timeReport(d: Dataset, repeat: number): { seconds: number; report: DataDriftReport } {
  let best = Infinity;
  let report: DataDriftReport | undefined;
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    report = dataDriftReport(d.reference, d.current, { bins: true });
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return { seconds: best, report: report as DataDriftReport };
}

interface PythonColumn {
  wasserstein: number;
  jensenShannon: number;
  tvd: number;
  hellinger: number;
  kld: number;
}

function relDiff(a: number, b: number): number {
  return a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-300);
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000;

async function runBench(args: BenchArgs, log: (line: string) => void): Promise<BenchResult> {
  const rows = Number(args.rows ?? 1_000_000);
  const cols = Number(args.cols ?? 20);
  const dir = args.data ?? path.join(os.tmpdir(), 'modelwatch-bench-report');
  const figures: Record<string, Figure> = { rows, columns: cols };
  const baseline: Record<string, Figure> = {};
  await mkdir(dir, { recursive: true });

  log(`generating ${rows} + ${rows} rows × ${Math.max(cols * 2, 40)} columns (seeded) ...`);
  let t0 = performance.now();
  const all = generate(rows, Math.max(cols * 2, 40));
  const data = slice(all, rows, cols);
  log(`  ${r3((performance.now() - t0) / 1000)} s`);

  const metaFile = path.join(dir, 'meta.json');
  const meta = { version: DATA_VERSION, rows, cols, seed: SEED };
  const cached = existsSync(metaFile) && (await readFile(metaFile, 'utf8')) === JSON.stringify(meta);
  if (!cached) {
    log(`writing CSV and raw float64 files to ${dir} ...`);
    t0 = performance.now();
    await writeRaw(path.join(dir, 'reference.f64'), data.reference);
    await writeRaw(path.join(dir, 'current.f64'), data.current);
    await writeCsv(path.join(dir, 'reference.csv'), data.reference, rows);
    await writeCsv(path.join(dir, 'current.csv'), data.current, rows);
    await writeFile(metaFile, JSON.stringify(meta));
    log(`  ${r3((performance.now() - t0) / 1000)} s`);
  } else log(`using cached inputs in ${dir}`);
  const csvMb = ((await stat(path.join(dir, 'reference.csv'))).size + (await stat(path.join(dir, 'current.csv'))).size) / 1e6;
  figures.csv_input_mb = Math.round(csvMb);

  // Ours: load the raw float64 files (timed apart), then the report on in-memory columns.
  t0 = performance.now();
  const loaded: Dataset = { reference: await readRaw(path.join(dir, 'reference.f64'), rows, cols), current: await readRaw(path.join(dir, 'current.f64'), rows, cols) };
  figures.load_s = r3((performance.now() - t0) / 1000);
  log('our report statistics on in-memory columns (best of 3) ...');
  const ours = timeReport(loaded, 3);
  figures.stats_s = r3(ours.seconds);
  log(`  ${figures.stats_s} s`);

  let ratio = Number.NaN;
  if (!args['skip-python']) {
    log('numpy/scipy baseline on the same data (best of 2) ...');
    const env = { ...process.env };
    // Older OpenBLAS builds need these on some processors; they slow a current numpy.
    delete env.OPENBLAS_CORETYPE;
    delete env.OPENBLAS_L2_SIZE;
    const py = await run('python3', [BASELINE, '--dir', dir, '--repeat', '2', '--selection'], env);
    if (py.code !== 0) throw new Error(`report_baseline.py failed: ${py.stderr.slice(-2000)}`);
    const res = JSON.parse(py.stdout) as { numpy: string; load_s: number; stats_s: number; selection_s: number; columns: PythonColumn[] };
    baseline.numpy = res.numpy;
    baseline.load_s = r3(res.load_s);
    baseline.stats_s = r3(res.stats_s);
    baseline.method_selection_s = r3(res.selection_s);
    baseline.stats_with_selection_s = r3(res.stats_s + res.selection_s);
    ratio = ours.seconds / res.stats_s;
    figures.ratio_vs_numpy = r3(ratio);
    figures.ratio_vs_numpy_with_selection = r3(ours.seconds / (res.stats_s + res.selection_s));
    let worst = 0;
    res.columns.forEach((p, i) => {
      const c = ours.report.columns[`c${i}`];
      if (!c) return;
      worst = Math.max(worst, relDiff(c.score, p.wasserstein), relDiff(c.jensenShannon ?? Number.NaN, p.jensenShannon));
      worst = Math.max(worst, relDiff(c.histogram.tvd, p.tvd), relDiff(c.histogram.hellinger, p.hellinger), relDiff(c.histogram.kld, p.kld));
    });
    figures.max_rel_diff_vs_numpy = worst;
    log(`  numpy/scipy ${baseline.stats_s} s (+ ${baseline.method_selection_s} s distinct counts); ratio ${figures.ratio_vs_numpy}`);
  }

  if (!args['skip-cli']) {
    log('whole CLI run on the CSV files (JSON out) ...');
    const cli = await timedCli(['report', '--reference', path.join(dir, 'reference.csv'), '--current', path.join(dir, 'current.csv'), '--format', 'json', '--out', path.join(dir, 'report.json'), '--no-progress']);
    figures.cli_total_s = r3(cli.seconds);
    if (cli.peakRssMb !== undefined) figures.cli_peak_rss_mb = Math.round(cli.peakRssMb);
    log(`  ${figures.cli_total_s} s, peak RSS ${String(figures.cli_peak_rss_mb)} MB`);
    const html = await timedCli(['report', '--reference', path.join(dir, 'reference.csv'), '--current', path.join(dir, 'current.csv'), '--out', path.join(dir, 'report.html'), '--no-progress']);
    figures.cli_html_s = r3(html.seconds);
    figures.html_kb = Math.round((await stat(path.join(dir, 'report.html'))).size / 1024);
  }

  if (!args['skip-growth']) {
    log('growth in rows (20 columns) and columns (1M rows), in memory ...');
    for (const n of [Math.round(rows / 4), Math.round(rows / 2), rows]) {
      figures[`rows_${n}_s`] = r3(timeReport(slice(all, n, cols), 2).seconds);
    }
    for (const k of [cols / 2, cols, cols * 2]) {
      figures[`cols_${k}_s`] = r3(timeReport(slice(all, rows, k), 2).seconds);
    }
    log(`  rows: ${[rows / 4, rows / 2, rows].map((n) => figures[`rows_${Math.round(n)}_s`]).join(' / ')} s; cols: ${[cols / 2, cols, cols * 2].map((k) => figures[`cols_${k}_s`]).join(' / ')} s`);
  }

  if (!args['skip-wide']) {
    const wideDir = path.join(dir, 'wide');
    await mkdir(wideDir, { recursive: true });
    const wideRef = path.join(wideDir, 'reference.csv');
    const wideCur = path.join(wideDir, 'current.csv');
    const wideMeta = path.join(wideDir, 'meta.json');
    const wm = JSON.stringify({ version: DATA_VERSION, rows: 100_000, cols: 200 });
    if (!existsSync(wideMeta) || (await readFile(wideMeta, 'utf8')) !== wm) {
      log('writing the wide 200 × 100k CSV files ...');
      const wide = generate(100_000, 200);
      await writeCsv(wideRef, wide.reference, 100_000);
      await writeCsv(wideCur, wide.current, 100_000);
      await writeFile(wideMeta, wm);
    }
    log('wide run: 200 columns × 100k rows through the CLI (HTML and JSON) ...');
    const w = await timedCli(['report', '--reference', wideRef, '--current', wideCur, '--out', path.join(wideDir, 'report.html'), '--no-progress']);
    figures.wide_200x100k_cli_s = r3(w.seconds);
    if (w.peakRssMb !== undefined) figures.wide_peak_rss_mb = Math.round(w.peakRssMb);
    figures.wide_html_kb = Math.round((await stat(path.join(wideDir, 'report.html'))).size / 1024);
    const wj = await timedCli(['report', '--reference', wideRef, '--current', wideCur, '--format', 'json', '--out', path.join(wideDir, 'report.json'), '--no-progress']);
    figures.wide_json_kb = Math.round((await stat(path.join(wideDir, 'report.json'))).size / 1024);
    figures.wide_json_cli_s = r3(wj.seconds);
    log(`  ${figures.wide_200x100k_cli_s} s, peak RSS ${String(figures.wide_peak_rss_mb)} MB, HTML ${figures.wide_html_kb} KB`);
  }

  return { figures, baseline, ratio: Number.isNaN(ratio) ? -1 : r3(ratio), target: 0.3, better: 'lower' };
}

/** The `report` benchmark. */
export const bench: Benchmark = {
  name: 'report',
  description: 'offline drift report statistics vs numpy/scipy on 1M+1M rows × 20 numeric columns; CLI time and memory; growth; wide data',
  run: runBench,
};
