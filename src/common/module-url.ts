import { fileURLToPath } from 'node:url';

/*
 * The package runs in two forms: compiled (dist/*.js, what users install) and as the TypeScript
 * sources (this repository's tests, demo and benchmarks, through tsx). A module that starts another
 * module by file (a worker thread's entry, the CLI in a child process, the demo's model) names it
 * by its source name and asks here for the file of the same form as itself.
 */

/**
 * The module `specifier` (its `.ts` source name, relative to `parent`, an `import.meta.url`) in
 * the form `parent` runs in: the compiled `.js` sibling when `parent` is compiled, else the source.
 */
export function moduleUrl(specifier: string, parent: string): URL {
  const url = new URL(specifier, parent);
  if (isSource(url) && !isSource(new URL(parent))) url.pathname = `${url.pathname.slice(0, -3)}.js`;
  return url;
}

/** Whether `url` names a TypeScript source, which Node runs only through a loader (tsx). */
export function isSource(url: URL): boolean {
  return url.pathname.endsWith('.ts');
}

/**
 * The arguments of `node` that run `entry` as a program: a compiled module as it is, a source
 * through tsx (a devDependency, so resolved here: the child's working folder need not have it).
 */
export function nodeArgs(entry: URL): string[] {
  const file = fileURLToPath(entry);
  return isSource(entry) ? ['--import', import.meta.resolve('tsx'), file] : [file];
}
