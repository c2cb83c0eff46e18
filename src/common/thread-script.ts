import { build } from 'esbuild';

/*
 * The sources run as TypeScript through tsx, which hooks module loading on the main thread only: a
 * worker thread of the CLI process cannot import a `.ts` file, and registering tsx inside each
 * worker took 0.4–0.7 s. A thread's entry module is therefore bundled with its imports into one
 * CommonJS script by esbuild (which tsx itself runs on), once per process, and the thread runs that
 * (`new Worker(script, { eval: true })`). Packages the entry names stay `require`s (`external`).
 */

const scripts = new Map<string, Promise<string>>();

/**
 * The script of a thread entry module (a `.ts` file next to the caller, as a URL), bundled.
 * @throws when esbuild cannot bundle it (the caller then runs the work on its own thread)
 */
export function threadScript(entry: URL, external: readonly string[] = []): Promise<string> {
  const key = `${entry.href}\u0000${external.join(',')}`;
  let script = scripts.get(key);
  if (script === undefined) {
    script = build({
      entryPoints: [entry.pathname],
      bundle: true,
      write: false,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      external: [...external],
      logLevel: 'silent',
    }).then((r) => {
      const out = r.outputFiles[0];
      if (!out) throw new Error(`esbuild produced nothing for ${entry.pathname}`);
      return out.text;
    });
    // A failed bundle is not kept: a later caller tries again.
    script.catch(() => scripts.delete(key));
    scripts.set(key, script);
  }
  return script;
}
