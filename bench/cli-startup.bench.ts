/**
 * `cli-startup` benchmark (issue 22): wall time of the compiled CLI as users run it
 * (`modelwatch` is `node dist/cli/main.js`): `--version`, `--help`, and a read command
 * (`endpoints list`) on a home holding one served, tracked and analyzed endpoint; beside them
 * `node -e 0`, the floor any Node program pays.
 *
 * Arguments: `--runs N` (default 10; the median is reported), `--no-build` (time the `dist/`
 * there is instead of building it first with `npm run build`).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManualClock } from '../src/common/clock.ts';
import { Modelwatch } from '../src/project/modelwatch.ts';
import type { BenchArgs, BenchResult, Benchmark } from './main.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const TARGET_VERSION_S = 0.5;

/** Median wall seconds of `runs` runs of `node ...args` (each must exit 0). */
function median(args: string[], runs: number, env: NodeJS.ProcessEnv): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
    if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${String(r.status)}: ${r.stderr}`);
  }
  times.sort((a, b) => a - b);
  return Math.round(times[Math.floor(times.length / 2)]! * 1000) / 1000;
}

/** A home with one endpoint that served 100 tracked requests and has a closed, analyzed window. */
async function seededHome(home: string): Promise<void> {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const mw = await Modelwatch.open({ home, clock, background: false, logLevel: 'error' });
  try {
    const project = await mw.getOrCreateProject('bench');
    await project.enableModelMonitoring({ basePeriod: 10 });
    const xs = Array.from({ length: 1000 }, (_, i) => (i % 100) / 10);
    const model = await project.logModel('doubler', { trainingSet: { x: xs, y: xs.map((x) => 2 * x) }, labelColumn: 'y' });
    const fn = await project.setFunction('serving', { kind: 'serving' });
    fn.addModel('doubler', { model: { predict: (rows: unknown[][]) => rows.map((r) => 2 * Number(r[0])) }, modelUri: model.uri });
    fn.setTracking();
    await project.deployFunction(fn);
    for (let i = 0; i < 100; i++) {
      await fn.invoke('/v2/models/doubler/infer', { inputs: [[(i % 100) / 10]] });
      clock.advance(5_000);
    }
    clock.set(Date.UTC(2026, 0, 1, 0, 11));
    await mw.runUntilIdle();
  } finally {
    await mw.close();
  }
}

export const bench: Benchmark = {
  name: 'cli-startup',
  description: 'wall time of the compiled CLI: --version, --help, endpoints list (median of runs)',
  async run(args: BenchArgs, log): Promise<BenchResult> {
    const runs = Number(args.runs ?? 10);
    if (args['no-build'] === undefined) {
      log('building dist/ (npm run build)');
      const b = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
      if (b.status !== 0) throw new Error(`npm run build failed:\n${b.stdout}${b.stderr}`);
    }
    const home = mkdtempSync(path.join(os.tmpdir(), 'mw-cli-startup-'));
    try {
      await seededHome(home);
      const env = { ...process.env, MODELWATCH_LOG_LEVEL: 'silent' };
      const figures = {
        node_floor_s: median(['-e', '0'], runs, env),
        version_s: median([CLI, '--version'], runs, env),
        help_s: median([CLI, '--help'], runs, env),
        endpoints_list_s: median([CLI, 'endpoints', 'list', '--project', 'bench', '--home', home], runs, env),
        endpoints_list_json_s: median([CLI, 'endpoints', 'list', '--project', 'bench', '--home', home, '--json'], runs, env),
      };
      return { figures, baseline: { version_s_target: TARGET_VERSION_S }, ratio: figures.version_s, target: TARGET_VERSION_S, better: 'lower' };
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  },
};
