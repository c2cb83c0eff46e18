import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ValidationError } from './errors.ts';

const TYPESCRIPT = new Set(['.ts', '.mts', '.cts']);
// What Node answers for a TypeScript file it cannot run itself (Node 20; newer Nodes that strip
// types do not strip every file, e.g. enums or files under node_modules).
const NOT_RUNNABLE = new Set(['ERR_UNKNOWN_FILE_EXTENSION', 'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX', 'ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING']);

/**
 * Imports a module of the user's named by file (a model's `modelPath`, an application module).
 * JavaScript imports as it is; so does TypeScript when this process can run it (under tsx, or a
 * Node that strips types). Otherwise a TypeScript file is loaded through the tsx installed in the
 * user's project (looked up from the file's folder), for that import only; without one, the error
 * says how to fix it.
 * @throws ValidationError for a TypeScript file that neither Node nor a tsx of the user's can load;
 *   what the import threw otherwise
 */
export async function importUserModule(file: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(file).href;
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (err) {
    if (!TYPESCRIPT.has(extname(file)) || !NOT_RUNNABLE.has((err as { code?: unknown }).code as string)) throw err;
  }
  let api: string;
  try {
    api = tsxImportApi(file);
  } catch {
    throw new ValidationError(
      `'${file}' is TypeScript, which Node ${process.version} does not load by itself: add tsx (4 or later) to your project (npm install --save-dev tsx), ` +
        'which modelwatch then uses to load it, or compile it to JavaScript and name the .js file',
      { file },
    );
  }
  const { tsImport } = (await import(api)) as { tsImport: (specifier: string, parent: string) => Promise<Record<string, unknown>> };
  return tsImport(url, url);
}

/**
 * The URL of `tsx/esm/api` as an `import` from `file` resolves it (its ESM build; `require` would
 * give its CommonJS build, which does not run when imported).
 * @throws when no tsx is installed where `file` would find it
 */
function tsxImportApi(file: string): string {
  const manifest = createRequire(file).resolve('tsx/package.json');
  const { exports } = JSON.parse(readFileSync(manifest, 'utf8')) as { exports?: Record<string, unknown> };
  const entry = exports?.['./esm/api'] as { import?: string | { default?: string } } | undefined;
  const target = typeof entry?.import === 'string' ? entry.import : entry?.import?.default;
  if (!target) throw new Error(`${manifest} exports no ./esm/api`);
  return new URL(target, pathToFileURL(manifest)).href;
}
