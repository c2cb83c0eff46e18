import fs from 'node:fs';
import path from 'node:path';
import { ValidationError } from './errors.ts';
import { isInside, realPathLoose, show } from './safe-path.ts';

/*
 * Code that a server loads on behalf of its API clients (model classes by `modelPath` or `source`,
 * monitoring apps by `application`) must come from a folder its operator named: a code root
 * (`modelwatch up --code-root DIR`, default the folder `up` started in). Uploaded files are data:
 * the home folder and the artifact path, where they are kept, never hold code, even when they lie
 * inside a code root (the default home `./.modelwatch` lies in the default root). Paths are judged
 * by their real location, so a symlink cannot lead out of a root or into the artifact path.
 */

/** File extensions of the modules a server imports. */
export const CODE_EXTENSIONS: readonly string[] = ['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts'];

/** The folders whose files hold data, never code. */
export interface DataFolders {
  home: string;
  artifactPath: string;
}

/** The folders a server loads code from; see the module comment. */
export class CodeRoots {
  private constructor(
    /** Real paths of the roots, as the operator gave them. */
    readonly roots: readonly string[],
    private readonly excluded: readonly { dir: string; what: string }[],
  ) {}

  /**
   * Resolves the roots (each must be an existing folder) and the folders excluded from them.
   * @throws ValidationError for a root that does not exist, is no folder, or lies inside the home
   *   folder or the artifact path
   */
  static resolve(dirs: readonly string[], data: DataFolders): CodeRoots {
    if (dirs.length === 0) throw new ValidationError('at least one code root is needed');
    const excluded = [
      { dir: realSync(data.artifactPath), what: 'the artifact path, where uploaded files are kept as data' },
      { dir: realSync(data.home), what: 'the home folder, which holds data only' },
    ];
    const roots: string[] = [];
    for (const d of dirs) {
      let real: string;
      try {
        real = fs.realpathSync(path.resolve(d));
      } catch {
        throw new ValidationError(`code root '${d}' does not exist`, { codeRoot: d });
      }
      if (!fs.statSync(real).isDirectory()) throw new ValidationError(`code root '${d}' is not a folder`, { codeRoot: d });
      const inData = excluded.find((x) => isInside(real, x.dir));
      if (inData) throw new ValidationError(`code root '${d}' lies in ${inData.what} (${inData.dir}); name a folder that holds your model and app modules`, { codeRoot: d });
      if (!roots.includes(real)) roots.push(real);
    }
    return new CodeRoots(roots, excluded);
  }

  /**
   * Checks a code path given to a server (a registration): it need not exist yet (its workers may
   * run elsewhere), but where it would land must be inside a root and outside the data folders.
   * @returns its real path (as far as it exists)
   * @throws ValidationError saying why it is refused, with the roots in its details
   */
  async check(what: string, file: string): Promise<string> {
    return this.judge(what, file, await realPathLoose(this.absolute(what, file)));
  }

  /**
   * Resolves a code file about to be imported: it must exist, and its real path must pass
   * {@link check}. Import the returned path (not the given one), so that the file judged is the
   * file loaded.
   * @throws ValidationError when it is missing or refused
   */
  async resolveFile(what: string, file: string): Promise<string> {
    const abs = this.absolute(what, file);
    let real: string;
    try {
      real = await fs.promises.realpath(abs);
    } catch {
      // Judged first, so that the answer does not tell which files exist outside the roots.
      await this.check(what, abs);
      throw new ValidationError(`${what} '${file}' was not found`, { [what]: file });
    }
    this.judge(what, file, real);
    if (!(await fs.promises.stat(real)).isFile()) throw new ValidationError(`${what} '${file}' is not a file`, { [what]: file });
    return real;
  }

  /**
   * Where a code path given by a client lies: an absolute path as it is; a relative one is taken
   * from the roots, the first that holds the file (else the first root), so that clients name
   * modules as they lie in the roots, wherever the client runs.
   */
  locate(file: string): string {
    if (path.isAbsolute(file)) return path.resolve(file);
    return this.roots.map((r) => path.resolve(r, file)).find((f) => fs.existsSync(f)) ?? path.resolve(this.roots[0]!, file);
  }

  /** The roots, for messages and banners. */
  toString(): string {
    return this.roots.join(', ');
  }

  private absolute(what: string, file: string): string {
    if (typeof file !== 'string' || file === '') throw new ValidationError(`${what} must be a non-empty path`);
    if (file.includes('\0')) throw this.refused(what, file, 'it holds a NUL character');
    if (!CODE_EXTENSIONS.includes(path.extname(file).toLowerCase())) {
      throw this.refused(what, file, `a module file ends in ${CODE_EXTENSIONS.join(', ')}`);
    }
    return this.locate(file);
  }

  private judge(what: string, file: string, real: string): string {
    const inData = this.excluded.find((x) => isInside(real, x.dir));
    if (inData) throw this.refused(what, file, `it lies in ${inData.what}`);
    const root = this.roots.find((r) => isInside(real, r));
    if (!root) throw this.refused(what, file, `it is outside the code roots`);
    // node_modules holds packages that act when imported (command-line entry points among them),
    // and dot folders hold tools' files: neither is a module the operator chose to serve.
    const parts = path.relative(root, real).split(path.sep);
    if (parts.some((p) => p === 'node_modules' || p.startsWith('.'))) {
      throw this.refused(what, file, 'code is not loaded from node_modules or from files and folders whose names start with a dot');
    }
    return real;
  }

  private refused(what: string, file: string, why: string): ValidationError {
    return new ValidationError(
      `${what} ${show(file)} is refused: ${why}. This server loads code only from its code roots (${this.toString()}); its operator sets them with modelwatch up --code-root DIR`,
      { [what]: file, codeRoots: [...this.roots] },
    );
  }
}

/**
 * Resolves a data file that a server reads for an API client (the data-drift-report app's
 * `referencePath`): relative paths are taken from the artifact path, and the file must lie in it,
 * symlinks followed. The home folder is refused when it lies inside the artifact path (its database
 * holds credentials).
 * @returns the real path (as far as it exists)
 * @throws ValidationError when it lies elsewhere
 */
export async function resolveDataFile(what: string, file: string, data: DataFolders): Promise<string> {
  if (typeof file !== 'string' || file === '') throw new ValidationError(`${what} must be a non-empty path`);
  const artifacts = realSync(data.artifactPath);
  const home = realSync(data.home);
  const refuse = (why: string): ValidationError =>
    new ValidationError(`${what} ${show(file)} is refused: ${why}. A server reads data files only from its artifact path (${artifacts})`, { [what]: file, artifactPath: artifacts });
  if (file.includes('\0')) throw refuse('it holds a NUL character');
  const real = await realPathLoose(path.resolve(artifacts, file));
  if (!isInside(real, artifacts)) throw refuse('it is outside the artifact path');
  if (isInside(home, artifacts) && isInside(real, home)) throw refuse('it lies in the home folder');
  return real;
}

function realSync(p: string): string {
  try {
    return fs.realpathSync(path.resolve(p));
  } catch {
    return path.resolve(p);
  }
}
