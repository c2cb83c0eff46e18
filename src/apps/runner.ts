import { errorMessage } from '../common/errors.ts';
import type { EndpointRecord } from '../common/types.ts';
import type { Platform } from '../project/platform.ts';
import type { Tsdb } from '../store/tsdb-port.ts';
import { topics, type Subscription } from '../stream/port.ts';
import type { Worker, WindowJob, WriterMessage } from '../pipeline/worker.ts';
import type { AppHost } from './app-host.ts';
import { buildContextData } from './context-builder.ts';
import { TrainingSets } from './training-sets.ts';

/** Options of {@link ApplicationRunner}. */
export interface ApplicationRunnerOptions {
  /** The app's registration options without the run limits, handed to it as `ctx.options`. */
  options?: Record<string, unknown>;
  /** Reservoir size of `ctx.sample`. @default 10_000 */
  sampleSize?: number;
  /** Window jobs taken per step. @default 50 */
  batchSize?: number;
  /** Windows analyzed at once within a step (their reads overlap on server databases). @default 4 */
  concurrency?: number;
}

/**
 * Runs one deployed monitoring application: takes window jobs from the controller, reads each
 * window's data, has the app's host run `doTracking` on it (in the app's thread, with its deadline
 * and memory limit, see app-host.ts) and sends the output to the writer. A run that fails (the app
 * threw, returned invalid output, ran out of time or memory) is reported as `mm-app-failed` with
 * the reason, and the next window goes on.
 */
export class ApplicationRunner implements Worker {
  private sub: Subscription | undefined;
  private readonly trainingSets: TrainingSets;
  runs = 0;
  failures = 0;

  constructor(
    private readonly platform: Platform,
    readonly project: string,
    readonly name: string,
    private readonly host: AppHost,
    private readonly opts: ApplicationRunnerOptions = {},
  ) {
    this.trainingSets = new TrainingSets(platform);
  }

  async step(): Promise<number> {
    const stream = await this.platform.streamFor(this.project);
    this.sub ??= await stream.subscribe(topics.app(this.project, this.name), `app-${this.name}`);
    const messages = await this.sub.fetch(this.opts.batchSize ?? 50, 0);
    if (messages.length === 0) return 0;
    const jobs: WindowJob[] = [];
    for (const m of messages) {
      try {
        jobs.push(JSON.parse(m.value) as WindowJob);
      } catch {
        this.platform.logger.error({ app: this.name, offset: m.offset }, 'window job is not JSON; skipped');
      }
    }
    // The batch's endpoints in one query, and the tsdb looked up once.
    const mine = jobs.filter((j) => j.project === this.project).map((j) => j.endpointId);
    const endpoints = new Map((await (await this.platform.endpointStoreFor(this.project)).getEndpoints(this.project, mine)).map((e) => [e.id, e]));
    const tsdb = await this.platform.tsdbFor(this.project);
    const ran = await mapLimit(jobs, this.opts.concurrency ?? 4, (job) =>
      job.project === this.project ? this.runOne(job, { endpoint: endpoints.get(job.endpointId) ?? null, tsdb }) : this.runOne(job),
    );
    // Stopped mid-step: nothing is acknowledged, and whoever runs the app next runs these windows.
    const out = ran.filter((o) => o !== undefined);
    if (out.length < ran.length) return 0;
    if (out.length) {
      await stream.publish(topics.writer(this.project), out.map((o) => ({ key: o.endpointId, value: JSON.stringify(o) })));
    }
    await this.sub.ack(messages);
    return messages.length;
  }

  /**
   * Runs the app on one window; never throws. `prefetched` hands in the endpoint (null: it does
   * not exist) and the tsdb when the caller already has them. Undefined when the app was stopped
   * (see {@link interrupt}) before the run ended.
   */
  async runOne(job: WindowJob, prefetched?: { endpoint: EndpointRecord | null; tsdb: Tsdb }): Promise<WriterMessage | undefined> {
    const base = { project: job.project, endpointId: job.endpointId, app: this.name, windowStart: job.windowStart, windowEnd: job.windowEnd };
    this.runs++;
    let error: string;
    try {
      const endpoint = prefetched ? prefetched.endpoint : await (await this.platform.endpointStoreFor(job.project)).getEndpoint(job.project, job.endpointId);
      if (!endpoint) throw new Error(`model endpoint '${job.endpointId}' no longer exists`);
      const data = await buildContextData({
        appName: this.name,
        endpoint,
        windowStart: job.windowStart,
        windowEnd: job.windowEnd,
        tsdb: prefetched?.tsdb ?? (await this.platform.tsdbFor(job.project)),
        options: this.opts.options ?? {},
        withSample: this.host.usesSample,
        ...(this.opts.sampleSize ? { sampleSize: this.opts.sampleSize } : {}),
      });
      const outcome = await this.host.run(data, this.trainingSets);
      if (outcome.ok) return { type: 'outputs', ...base, results: outcome.results, metrics: outcome.metrics };
      if (outcome.stopped) return undefined;
      error = outcome.error;
    } catch (err) {
      error = `could not read the window: ${errorMessage(err)}`;
    }
    this.failures++;
    this.platform.logger.warn({ app: this.name, endpoint: job.endpointId, windowStart: new Date(job.windowStart).toISOString(), err: error }, 'monitoring application failed on a window');
    return { type: 'app-failed', ...base, error };
  }

  /**
   * Stops the app at once, whatever it is doing (an endless loop included), so that a step in
   * flight ends without acknowledging its windows; for undeploy and shutdown, before waiting for
   * the worker's loop. Touches nothing but the host, so that it may be called through a wrapper.
   */
  interrupt(): void {
    void this.host.close();
  }

  async close(): Promise<void> {
    await this.host.close();
    await this.sub?.close();
    this.sub = undefined;
  }
}

/** `fn` over `items` with at most `limit` calls pending at once; results in input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  return out;
}
