import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'esbuild';
import { isSource } from './module-url.ts';

/*
 * What a worker thread runs. Compiled (the installed package), its entry module is a `.js` file
 * and the thread loads it as it is. From the sources, tsx hooks module loading on the main thread
 * only (Node 20), so a thread's `.ts` entry is bundled with its imports into one CommonJS script by
 * esbuild (a devDependency, as tsx, which runs on it), once per process, and the thread runs that
 * (`eval`): started in 0.1–0.2 s, where registering tsx inside the thread took 0.4–0.7 s. Packages
 * named in `external` stay `require`s, of the path this process resolves them to: a script run
 * with `eval` would otherwise look them up from the working directory, and both threads must load
 * the same build of a native addon.
 */

/** How to start a thread on an entry module: `new Worker(filename, { eval, ... })`. */
export interface ThreadScript {
  filename: string | URL;
  eval: boolean;
}

const scripts = new Map<string, Promise<ThreadScript>>();

function resolvedExternals(packages: readonly string[]): Plugin {
  const names = new Set(packages);
  const resolveHere = createRequire(import.meta.url).resolve;
  return {
    name: 'resolved-externals',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => (names.has(args.path) ? { path: resolveHere(args.path), external: true } : undefined));
    },
  };
}

async function bundle(entry: URL, external: readonly string[]): Promise<ThreadScript> {
  const { build } = await import('esbuild');
  const r = await build({
    entryPoints: [fileURLToPath(entry)],
    bundle: true,
    write: false,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    plugins: [resolvedExternals(external)],
    logLevel: 'silent',
  });
  const out = r.outputFiles[0];
  if (!out) throw new Error(`esbuild produced nothing for ${fileURLToPath(entry)}`);
  return { filename: out.text, eval: true };
}

/**
 * How to run a thread entry module (a URL from `moduleUrl`): a compiled one as it is, a source
 * bundled.
 * @throws when a source cannot be bundled (the caller then runs the work on its own thread)
 */
export function threadScript(entry: URL, external: readonly string[] = []): Promise<ThreadScript> {
  if (!isSource(entry)) return Promise.resolve({ filename: entry, eval: false });
  const key = `${entry.href}\u0000${external.join(',')}`;
  let script = scripts.get(key);
  if (script === undefined) {
    script = bundle(entry, external);
    // A failed bundle is not kept: a later caller tries again.
    script.catch(() => scripts.delete(key));
    scripts.set(key, script);
  }
  return script;
}
