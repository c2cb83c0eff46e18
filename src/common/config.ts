import path from 'node:path';

/**
 * Platform options, compiled in stages as the SDK does it: user options (all optional) →
 * options with defaults, where code beats the environment and the environment beats defaults.
 */
export interface PlatformOptions {
  /** Home folder. @default env MODELWATCH_HOME or `./.modelwatch` */
  home?: string;
  /** Store connection URL. @default SQLite file `<home>/modelwatch.db` */
  storeUrl?: string;
  /** Default time-series connection URL. @default the store URL */
  tsdbUrl?: string;
  /** Default stream URL. @default embedded log `<home>/stream.db` */
  streamUrl?: string;
  /** Where models and app artifacts go. @default `<home>/artifacts` */
  artifactPath?: string;
  /**
   * Folders that code named by a function's spec (`modelPath`, `source`, `application`) must lie in
   * before it is imported (see `CodeRoots`); `modelwatch up` and `modelwatch worker` set them.
   * @default none: code is loaded from wherever the spec names it (embedded mode: your own process)
   */
  codeRoots?: readonly string[];
}

export interface CompiledPlatformOptions {
  readonly home: string;
  readonly storeUrl: string;
  readonly tsdbUrl: string;
  readonly streamUrl: string;
  readonly artifactPath: string;
  readonly codeRoots?: readonly string[];
}

export function compilePlatformOptions(o: PlatformOptions = {}, env: NodeJS.ProcessEnv = process.env): CompiledPlatformOptions {
  const home = path.resolve(o.home ?? env.MODELWATCH_HOME ?? '.modelwatch');
  const storeUrl = o.storeUrl ?? env.MODELWATCH_STORE_URL ?? `sqlite://${path.join(home, 'modelwatch.db')}`;
  return Object.freeze({
    home,
    storeUrl,
    tsdbUrl: o.tsdbUrl ?? env.MODELWATCH_TSDB_URL ?? storeUrl,
    streamUrl: o.streamUrl ?? env.MODELWATCH_STREAM_URL ?? `embedded://${path.join(home, 'stream.db')}`,
    artifactPath: path.resolve(o.artifactPath ?? env.MODELWATCH_ARTIFACT_PATH ?? path.join(home, 'artifacts')),
    ...(o.codeRoots ? { codeRoots: o.codeRoots.map((r) => path.resolve(r)) } : {}),
  });
}
