import path from 'node:path';
import { systemClock, type Clock } from '../common/clock.ts';
import { compilePlatformOptions, type CompiledPlatformOptions, type PlatformOptions } from '../common/config.ts';
import { CodeRoots } from '../common/code-roots.ts';
import { createLogger, type Logger } from '../common/logger.ts';
import { errorMessage } from '../common/errors.ts';
import { makePrivateDir } from '../common/private-files.ts';
import { redactSecrets } from '../common/redact.ts';
import { openStore, openTsdb } from '../store/connect.ts';
import type { Store } from '../store/port.ts';
import type { Tsdb } from '../store/tsdb-port.ts';
import { openStream } from '../stream/connect.ts';
import { PlatformSecrets } from './platform-secrets.ts';
import type { Stream } from '../stream/port.ts';

/**
 * The shared handles of one modelwatch installation: the store, each project's endpoint store,
 * time-series database and stream (per-project credentials may point elsewhere), the clock and
 * the logger.
 */
export class Platform {
  readonly options: CompiledPlatformOptions;
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Credentials and other stored secrets: sealed at rest, opened for connecting, redacted for readers. */
  readonly secrets: PlatformSecrets;
  /** Where code named by function specs may be loaded from; undefined: anywhere (embedded mode). */
  readonly codeRoots: CodeRoots | undefined;
  private readonly endpointStores = new Map<string, Promise<Store>>();
  private readonly tsdbs = new Map<string, Promise<Tsdb>>();
  private readonly streams = new Map<string, Promise<Stream>>();

  private constructor(options: CompiledPlatformOptions, store: Store, clock: Clock, logger: Logger, codeRoots: CodeRoots | undefined) {
    this.options = options;
    this.codeRoots = codeRoots;
    this.store = store;
    this.secrets = new PlatformSecrets(store, options.home);
    this.clock = clock;
    this.logger = logger;
  }

  static async open(opts: PlatformOptions & { clock?: Clock; logger?: Logger } = {}): Promise<Platform> {
    const options = compilePlatformOptions(opts);
    // Credentials, models and every prediction live here: the owner's alone.
    makePrivateDir(options.home);
    makePrivateDir(options.artifactPath);
    // Checked before the store opens: a bad root fails the start with nothing to close.
    const codeRoots = options.codeRoots ? CodeRoots.resolve(options.codeRoots, options) : undefined;
    const store = await openStore(options.storeUrl);
    await store.migrate();
    return new Platform(options, store, opts.clock ?? systemClock, opts.logger ?? createLogger(), codeRoots);
  }

  /**
   * Where a project's model endpoints live, with what belongs to each endpoint (drift status and
   * measures, error counts, live metrics, the controller's last analyzed windows, monitoring
   * events): its credentials' `endpointStoreConnection`, else the platform store. Projects,
   * functions, models, credentials and leases always stay in the platform store.
   */
  async endpointStoreFor(project: string): Promise<Store> {
    const url = (await this.secrets.getCredentials(project))?.endpointStoreConnection;
    if (url === undefined || url === this.store.url) return this.store;
    let s = this.endpointStores.get(url);
    if (!s) {
      s = openStore(url).then(async (store) => {
        try {
          await store.migrate();
        } catch (err) {
          await store.close().catch(() => undefined);
          throw err;
        }
        return store;
      });
      s.catch(() => this.endpointStores.delete(url));
      this.endpointStores.set(url, s);
    }
    return s;
  }

  /**
   * Deletes a project: first its endpoint data where its credentials keep it (when that is not
   * the platform store), then its platform records.
   */
  async deleteProject(name: string): Promise<void> {
    const endpoints = await this.endpointStoreFor(name);
    if (endpoints !== this.store) await endpoints.deleteProject(name);
    await this.store.deleteProject(name);
    // Its tokens go with it: a project made later under the same name is not theirs to reach.
    for (const t of await this.store.listTokens({ project: name })) if (t.revokedAt === null) await this.store.revokeToken(t.id, this.clock.now());
  }

  /** The time-series database of a project: its credentials' `tsdbConnection`, else the default. */
  async tsdbFor(project: string): Promise<Tsdb> {
    const url = (await this.secrets.getCredentials(project))?.tsdbConnection ?? this.options.tsdbUrl;
    let t = this.tsdbs.get(url);
    if (!t) {
      const onWriterThreadError = (err: Error): void =>
        this.logger.warn({ tsdb: redactSecrets(url), err: errorMessage(err) }, 'the SQLite ingest writer thread failed; ingest batches are written on the event loop from now on');
      t = openTsdb(url, { onWriterThreadError }).then(async (db) => {
        await db.migrate();
        return db;
      });
      t.catch(() => this.tsdbs.delete(url));
      this.tsdbs.set(url, t);
    }
    return t;
  }

  /** The stream of a project: its credentials' `streamPath`, else the default. */
  async streamFor(project: string): Promise<Stream> {
    const url = (await this.secrets.getCredentials(project))?.streamPath ?? this.options.streamUrl;
    let s = this.streams.get(url);
    if (!s) {
      s = openStream(url, { home: this.options.home, clock: this.clock });
      s.catch(() => this.streams.delete(url));
      this.streams.set(url, s);
    }
    return s;
  }

  /**
   * Where a code path named in a function spec lies: from the code roots (see `CodeRoots.locate`),
   * or, without roots (embedded mode), from the working folder.
   */
  codePath(file: string): string {
    return this.codeRoots ? this.codeRoots.locate(file) : path.resolve(file);
  }

  async close(): Promise<void> {
    const closing: Promise<unknown>[] = [];
    for (const s of this.streams.values()) closing.push(s.then((x) => x.close()).catch(() => undefined));
    for (const t of this.tsdbs.values()) closing.push(t.then((x) => x.close()).catch(() => undefined));
    for (const e of this.endpointStores.values()) closing.push(e.then((x) => x.close()).catch(() => undefined));
    await Promise.all(closing);
    this.streams.clear();
    this.tsdbs.clear();
    this.endpointStores.clear();
    await this.store.close();
  }
}
