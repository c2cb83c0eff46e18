import { errorMessage } from '../common/errors.ts';
import type { EndpointRecord } from '../common/types.ts';
import type { Platform } from '../project/platform.ts';
import type { Tsdb } from '../store/tsdb-port.ts';
import { topics, type Subscription } from '../stream/port.ts';
import type { Worker, WindowJob, WriterMessage } from '../pipeline/worker.ts';
import type { MonitoringApplication } from './base.ts';
import { buildContext } from './context-builder.ts';
import { normalizeOutput } from './results.ts';
import { TrainingSets } from './training-sets.ts';

/** Options of {@link ApplicationRunner}. */
export interface ApplicationRunnerOptions {
  /** The app's registration options, handed to it as `ctx.options`. */
  options?: Record<string, unknown>;
  /** Reservoir size of `ctx.sample`. @default 10_000 */
  sampleSize?: number;
  /** Window jobs taken per step. @default 50 */
  batchSize?: number;
  /** Windows analyzed at once within a step (their reads overlap on server databases). @default 4 */
  concurrency?: number;
}

/**
 * Runs one deployed monitoring application: takes window jobs from the controller, builds the
 * context, calls `doTracking`, validates the output and sends it to the writer. An app that
 * throws is reported as `mm-app-failed` and the next window goes on.
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
    private readonly app: MonitoringApplication,
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
    const out = await mapLimit(jobs, this.opts.concurrency ?? 4, (job) =>
      job.project === this.project ? this.runOne(job, { endpoint: endpoints.get(job.endpointId) ?? null, tsdb }) : this.runOne(job),
    );
    if (out.length) {
      await stream.publish(topics.writer(this.project), out.map((o) => ({ key: o.endpointId, value: JSON.stringify(o) })));
    }
    await this.sub.ack(messages);
    return messages.length;
  }

  /**
   * Runs the app on one window; never throws. `prefetched` hands in the endpoint (null: it does
   * not exist) and the tsdb when the caller already has them.
   */
  async runOne(job: WindowJob, prefetched?: { endpoint: EndpointRecord | null; tsdb: Tsdb }): Promise<WriterMessage> {
    const base = { project: job.project, endpointId: job.endpointId, app: this.name, windowStart: job.windowStart, windowEnd: job.windowEnd };
    this.runs++;
    try {
      const endpoint = prefetched ? prefetched.endpoint : await (await this.platform.endpointStoreFor(job.project)).getEndpoint(job.project, job.endpointId);
      if (!endpoint) throw new Error(`model endpoint '${job.endpointId}' no longer exists`);
      const ctx = await buildContext({
        appName: this.name,
        endpoint,
        windowStart: job.windowStart,
        windowEnd: job.windowEnd,
        tsdb: prefetched?.tsdb ?? (await this.platform.tsdbFor(job.project)),
        artifactPath: this.platform.options.artifactPath,
        logger: this.platform.logger,
        options: this.opts.options ?? {},
        withSample: this.app.usesSample,
        trainingSet: (uri) => this.trainingSets.get(uri),
        ...(this.opts.sampleSize ? { sampleSize: this.opts.sampleSize } : {}),
      });
      const { results, metrics } = normalizeOutput(this.name, await this.app.doTracking(ctx));
      return { type: 'outputs', ...base, results, metrics };
    } catch (err) {
      this.failures++;
      this.platform.logger.warn({ app: this.name, endpoint: job.endpointId, err: errorMessage(err) }, 'monitoring application failed on a window');
      return { type: 'app-failed', ...base, error: errorMessage(err) };
    }
  }

  async close(): Promise<void> {
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
