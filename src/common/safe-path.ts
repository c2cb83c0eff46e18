import fs from 'node:fs/promises';
import path from 'node:path';
import { ValidationError } from './errors.ts';

/*
 * Names that become paths (model keys and tags, project and function names, artifact names,
 * endpoint ids) go through one validator, and paths built from them through one resolver that
 * checks the result stays in its folder. The allowed set is plain ASCII on purpose: what looks like
 * a dot or a slash in another script (`．．／`), percent-encoding, NUL and backslashes never reach
 * the file system, so no normalization layer (URL decoding, NFKC, Windows' trailing-dot stripping)
 * can turn an accepted name into `..`.
 */

/** Longest name that becomes one path segment. */
export const MAX_SEGMENT_LENGTH = 128;

// A letter or digit first (no `.`, `..`, dot files or option-looking names), no dot last (Windows
// drops trailing dots, so `a.` and `a` would be one file there).
const SEGMENT_RE = /^[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?$/;
// Device names Windows reserves in every folder, with or without an extension.
const WINDOWS_DEVICE_RE = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\.|$)/i;

/** Whether `name` may be one segment of a path: see {@link checkPathSegment}. */
export function isPathSegment(name: unknown): name is string {
  return typeof name === 'string' && name.length <= MAX_SEGMENT_LENGTH && SEGMENT_RE.test(name) && !WINDOWS_DEVICE_RE.test(name);
}

/**
 * Checks a name that becomes one path segment: 1-128 ASCII letters, digits, `.`, `_` and `-`,
 * starting with a letter or digit and not ending with `.`, and no Windows device name.
 * @param what what the name is, for the message (`model tag`, `artifact name`, ...)
 * @throws ValidationError naming the rule
 */
export function checkPathSegment(what: string, name: unknown): string {
  if (isPathSegment(name)) return name;
  throw new ValidationError(
    `${what} ${show(name)} is not valid: use 1-${MAX_SEGMENT_LENGTH} letters, digits, '.', '_' and '-', starting with a letter or digit and not ending with '.'`,
    { [camel(what)]: typeof name === 'string' ? name.slice(0, 200) : String(name) },
  );
}

/**
 * `folder` joined with `segments`, each checked by {@link isPathSegment}, after checking that the
 * resolved path stays inside `folder` (it always does for valid segments; the check guards the
 * rule itself).
 * @throws ValidationError for a segment that is not a valid name, or a result outside `folder`
 */
export function resolveUnder(folder: string, ...segments: string[]): string {
  for (const s of segments) checkPathSegment('path segment', s);
  const base = path.resolve(folder);
  const target = path.resolve(base, ...segments);
  if (!isInside(target, base)) throw new ValidationError(`${show(segments.join('/'))} leaves the folder ${base}`);
  return target;
}

/** Whether `target` is `folder` or lies below it (both absolute; compared as written, no symlinks followed). */
export function isInside(target: string, folder: string): boolean {
  const rel = path.relative(folder, target);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/**
 * The real path of `p` (symlinks followed): of `p` itself when it exists, otherwise of its deepest
 * existing folder with the rest joined on, so that a path about to be created is judged by where it
 * would land.
 */
export async function realPathLoose(p: string): Promise<string> {
  let dir = path.resolve(p);
  const rest: string[] = [];
  for (;;) {
    try {
      return path.join(await fs.realpath(dir), ...rest);
    } catch {
      const parent = path.dirname(dir);
      if (parent === dir) return path.join(dir, ...rest);
      rest.unshift(path.basename(dir));
      dir = parent;
    }
  }
}

/** A file name sent by a client, made safe to store: its last part, with characters outside the segment rule replaced. */
export function safeFileName(name: string, fallback = 'file'): string {
  const last = name.split(/[\\/]/).pop() ?? '';
  let s = last.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[^A-Za-z0-9]+/, '');
  if (s.length > MAX_SEGMENT_LENGTH) s = s.slice(s.length - MAX_SEGMENT_LENGTH).replace(/^[^A-Za-z0-9]+/, '');
  s = s.replace(/\.+$/, '');
  if (WINDOWS_DEVICE_RE.test(s)) s = `${fallback}-${s}`.slice(0, MAX_SEGMENT_LENGTH).replace(/\.+$/, '');
  return isPathSegment(s) ? s : fallback;
}

/** A value for a message: quoted, control characters escaped, long ones cut. */
export function show(v: unknown): string {
  if (typeof v !== 'string') return String(v);
  const cut = v.length > 300 ? `${v.slice(0, 300)}…` : v;
  return JSON.stringify(cut).replace(/^"|"$/g, "'");
}

function camel(what: string): string {
  return what.replace(/ ([a-z])/g, (_, c: string) => c.toUpperCase());
}
