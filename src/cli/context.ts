import fs from 'node:fs';
import type { Command } from 'commander';
import type { PlatformOptions } from '../common/config.ts';
import type { RemoteClient, RemoteProject } from '../project/client.ts';
import { UsageError } from './errors.ts';

/** Options every command accepts (defined on the root program). */
export interface GlobalOptions {
  home?: string;
  url?: string;
  /** The API token: `--token-file`'s content, else MODELWATCH_TOKEN. */
  token?: string;
  tokenFile?: string;
  storeUrl?: string;
  tsdbUrl?: string;
  streamUrl?: string;
}

/** The global options, with the environment filled in where the command line is silent. */
export function globalOptions(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals<GlobalOptions & Record<string, unknown>>();
  const env = process.env;
  const pick = (v: string | undefined, e: string | undefined): string | undefined => (v !== undefined && v !== '' ? v : e || undefined);
  const out: GlobalOptions = {};
  const set = (k: keyof GlobalOptions, v: string | undefined): void => {
    if (v !== undefined) out[k] = v;
  };
  set('home', pick(o.home, env.MODELWATCH_HOME));
  set('url', pick(o.url, env.MODELWATCH_URL));
  set('tokenFile', o.tokenFile);
  set('token', o.tokenFile !== undefined ? readTokenFile(o.tokenFile) : env.MODELWATCH_TOKEN || undefined);
  set('storeUrl', pick(o.storeUrl, env.MODELWATCH_STORE_URL));
  set('tsdbUrl', pick(o.tsdbUrl, env.MODELWATCH_TSDB_URL));
  set('streamUrl', pick(o.streamUrl, env.MODELWATCH_STREAM_URL));
  return out;
}

/** The token in `file`: its content without surrounding whitespace. */
function readTokenFile(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new UsageError(`--token-file ${file}: ${(err as Error).message}`);
  }
  if (text === '' || /\s/.test(text)) throw new UsageError(`--token-file ${file} must hold one token (as \`modelwatch tokens create\` printed it)`);
  return text;
}

/** Platform options from the global options (home and connection URLs). */
export function platformOptions(g: GlobalOptions): PlatformOptions {
  const o: PlatformOptions = {};
  if (g.home) o.home = g.home;
  if (g.storeUrl) o.storeUrl = g.storeUrl;
  if (g.tsdbUrl) o.tsdbUrl = g.tsdbUrl;
  if (g.streamUrl) o.streamUrl = g.streamUrl;
  return o;
}

/**
 * Runs `fn` with a client: over HTTP when `--url` (or MODELWATCH_URL) names a server,
 * otherwise against the home folder, through the same REST handlers run in this process
 * (no port is opened), so both modes validate and fail alike.
 */
export async function withClient<T>(cmd: Command, fn: (client: RemoteClient) => Promise<T>): Promise<T> {
  const g = globalOptions(cmd);
  // Loaded when a command runs, so that `--help` and `--version` load none of it.
  const { connect } = await import('../project/client.ts');
  if (g.url) return fn(connect({ url: g.url, ...(g.token ? { token: g.token } : {}) }));
  const [{ Platform }, { cliLogger }] = await Promise.all([import('../project/platform.ts'), import('./logger.ts')]);
  const platform = await Platform.open({ ...platformOptions(g), logger: cliLogger('warn') });
  try {
    // Loaded here so that commands that talk to a remote server never load Fastify's routes.
    const { createServer } = await import('../server/app.ts');
    const { injectFetch } = await import('../server/inject-fetch.ts');
    // Whoever opened the home has every right over it: the in-process server checks no token.
    const app = createServer({ platform, logger: false, auth: false });
    try {
      await app.ready();
      // A token still goes along: the in-process server checks none, but an invoke passes it on.
      return await fn(connect({ url: 'http://in-process', fetch: injectFetch(app), ...(g.token ? { token: g.token } : {}) }));
    } finally {
      await app.close();
    }
  } finally {
    await platform.close();
  }
}

/** Like {@link withClient}, for a command that acts on `--project`. */
export async function withProject<T>(cmd: Command, fn: (project: RemoteProject, client: RemoteClient) => Promise<T>): Promise<T> {
  const name = cmd.opts<{ project?: string }>().project ?? process.env.MODELWATCH_PROJECT;
  if (!name) throw new UsageError(`${cmd.name()} needs --project NAME (or MODELWATCH_PROJECT)`);
  return withClient(cmd, async (client) => fn(await client.getProject(name), client));
}
