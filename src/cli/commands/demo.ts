import fs from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { globalOptions } from '../context.ts';

const DEMO_MODULE = fileURLToPath(new URL('../../demo/main.ts', import.meta.url));

/**
 * `demo`: registered only when `src/demo/main.ts` exists; it must export `runDemo(opts)`.
 * Options it does not declare are passed through (`--key value` → `{ key: value }`), with the
 * global ones (`home`, `storeUrl`, `tsdbUrl`, `streamUrl`, `url`, `token`). The demo's authors own this file from here on.
 */
export function registerDemoCommand(program: Command): void {
  if (!fs.existsSync(DEMO_MODULE)) return;
  program
    .command('demo')
    .description('run the end-to-end demo: a model served with tracking, drift injected, results and alerts')
    .option('--requests-per-window <n>', 'requests sent per window', Number)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      const mod = (await import(pathToFileURL(DEMO_MODULE).href)) as { runDemo?: (opts: Record<string, unknown>) => Promise<unknown> };
      if (typeof mod.runDemo !== 'function') throw new Error(`${DEMO_MODULE} does not export runDemo(opts)`);
      const g = globalOptions(cmd);
      const known = Object.fromEntries(Object.entries({ ...o, ...g }).filter(([, v]) => v !== undefined));
      await mod.runDemo({ ...passThrough(cmd.args), ...known });
    });
}

/** `--base-period 1 --fast` → `{ basePeriod: '1', fast: true }`. */
function passThrough(args: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) continue;
    const [k, inline] = a.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const key = k.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
    const next = args[i + 1];
    if (inline !== undefined) out[key] = scalar(inline);
    else if (next !== undefined && !next.startsWith('--')) out[key] = scalar(args[++i]!);
    else out[key] = true;
  }
  return out;
}

function scalar(v: string): string | number {
  return v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
}
