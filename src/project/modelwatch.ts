import { ConflictError, NotFoundError } from '../common/errors.ts';
import { checkProjectName } from '../common/names.ts';
import type { Clock } from '../common/clock.ts';
import type { PlatformOptions } from '../common/config.ts';
import { createLogger, type LOG_LEVELS, type Logger } from '../common/logger.ts';
import type { ProjectRecord } from '../store/port.ts';
import { Platform } from './platform.ts';
import { Project } from './project.ts';
import { InProcessRuntime, newRegistry } from './runtime.ts';

export interface EmbeddedOptions extends PlatformOptions {
  clock?: Clock;
  /** A pino logger of your own; without it logs go to stderr at {@link EmbeddedOptions.logLevel}. */
  logger?: Logger;
  /**
   * Level of the platform's log lines, which go to stderr (never to your stdout).
   * @default env MODELWATCH_LOG_LEVEL, else `warn`
   */
  logLevel?: (typeof LOG_LEVELS)[number];
  /**
   * Let deployed functions loop on their own. Without it they move only on `runUntilIdle()`
   * (tests and the demo, with a manual clock). @default true
   */
  background?: boolean;
  /** Start the functions already deployed in the home (as a restart would). @default true */
  resume?: boolean;
}

/**
 * Embedded mode: opens the home folder itself and runs deployed functions inside this
 * process — for scripts, notebooks, tests and the demo.
 */
export class Modelwatch {
  private constructor(
    /** @internal The backends, for this package's own tools and tests. */
    readonly platform: Platform,
    /** @internal */
    readonly runtime: InProcessRuntime,
  ) {}

  static async open(opts: EmbeddedOptions = {}): Promise<Modelwatch> {
    const platform = await Platform.open({ ...opts, logger: opts.logger ?? createLogger('modelwatch', opts.logLevel) });
    const mw = new Modelwatch(platform, new InProcessRuntime(platform, newRegistry(), opts.background ?? true));
    if (opts.resume ?? true) await mw.resume();
    return mw;
  }

  /** Restarts every function the store says is deployed (their classes must be importable). */
  private async resume(): Promise<void> {
    for (const f of await this.platform.store.listFunctions()) {
      if (!f.deployed) continue;
      const spec = f.spec as { inProcess?: boolean; models?: { inProcess?: boolean }[] };
      if (spec.inProcess || spec.models?.some((m) => m.inProcess)) continue; // redeployed by the caller
      try {
        await this.runtime.deploy(f);
      } catch (err) {
        this.platform.logger.error({ project: f.project, function: f.name, err: String(err) }, 'could not restart a deployed function');
      }
    }
  }

  async createProject(name: string, opts: { description?: string; labels?: Record<string, string> } = {}): Promise<Project> {
    checkProjectName(name);
    if (await this.platform.store.getProject(name)) throw new ConflictError(`project '${name}' exists`);
    await this.platform.store.createProject({ name, description: opts.description ?? '', labels: opts.labels ?? {}, monitoring: null, createdAt: this.platform.clock.now() });
    return new Project(name, this.platform, this.runtime);
  }

  async getProject(name: string): Promise<Project> {
    if (!(await this.platform.store.getProject(name))) throw new NotFoundError('project', name);
    return new Project(name, this.platform, this.runtime);
  }

  async getOrCreateProject(name: string, opts: { description?: string; labels?: Record<string, string> } = {}): Promise<Project> {
    return (await this.platform.store.getProject(name)) ? this.getProject(name) : this.createProject(name, opts);
  }

  async listProjects(): Promise<ProjectRecord[]> {
    return this.platform.store.listProjects();
  }

  /** Flushes tracking, ingests events, runs due windows and writes results until nothing is left. */
  async runUntilIdle(): Promise<void> {
    await this.runtime.runUntilIdle();
  }

  /**
   * Stops every function running in this process and closes the backends. Serving functions stop
   * gracefully: they stop accepting, answer the requests in flight and flush their tracking, within
   * `deadlineMs` (default 10 s).
   */
  async close(opts: { deadlineMs?: number } = {}): Promise<void> {
    await this.runtime.close(opts);
    await this.platform.close();
  }
}

/** Opens modelwatch in embedded mode. */
export function openEmbedded(opts: EmbeddedOptions = {}): Promise<Modelwatch> {
  return Modelwatch.open(opts);
}
