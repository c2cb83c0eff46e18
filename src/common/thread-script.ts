import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

/*
 * The sources run as TypeScript through tsx, which hooks module loading on the main thread only: a
 * worker thread of the CLI process cannot import a `.ts` file, and registering tsx inside each
 * worker took 0.4–0.7 s. A thread's entry module is therefore bundled with its imports into one
 * CommonJS script by esbuild (which tsx itself runs on), once per process, and the thread runs that
 * (`new Worker(script, { eval: true })`). Packages named in `external` stay `require`s, of the path
 * this process resolves them to: a script run with `eval` would otherwise look them up from the
 * working directory, and both threads must load the same build of a native addon.
 */

const scripts = new Map<string, Promise<string>>();
const resolveHere = createRequire(import.meta.url).resolve;

function resolvedExternals(packages: readonly string[]): Plugin {
  const names = new Set(packages);
  return {
    name: 'resolved-externals',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => (names.has(args.path) ? { path: resolveHere(args.path), external: true } : undefined));
    },
  };
}

/**
 * The script of a thread entry module (a `.ts` file, as a URL), bundled.
 * @throws when esbuild cannot bundle it (the caller then runs the work on its own thread)
 */
export function threadScript(entry: URL, external: readonly string[] = []): Promise<string> {
  const key = `${entry.href}\u0000${external.join(',')}`;
  let script = scripts.get(key);
  if (script === undefined) {
    script = build({
      entryPoints: [fileURLToPath(entry)],
      bundle: true,
      write: false,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      plugins: [resolvedExternals(external)],
      logLevel: 'silent',
    }).then((r) => {
      const out = r.outputFiles[0];
      if (!out) throw new Error(`esbuild produced nothing for ${fileURLToPath(entry)}`);
      return out.text;
    });
    // A failed bundle is not kept: a later caller tries again.
    script.catch(() => scripts.delete(key));
    scripts.set(key, script);
  }
  return script;
}
