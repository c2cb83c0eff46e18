import { errorMessage } from '../common/errors.ts';
import type { Platform } from '../project/platform.ts';
import { topics, type Subscription } from '../stream/port.ts';
import type { Worker, WindowJob, WriterMessage } from '../pipeline/worker.ts';
import type { MonitoringApplication } from './base.ts';
import { buildContext } from './context-builder.ts';
import { normalizeOutput } from './results.ts';

/**
 * Runs one deployed monitoring application: takes window jobs from the controller, builds the
 * context, calls `doTracking`, validates the output and sends it to the writer. An app that
 * throws is reported as `mm-app-failed` and the next window goes on.
 */
export class ApplicationRunner implements Worker {
  private sub: Subscription | undefined;
  runs = 0;
  failures = 0;

  constructor(
    private readonly platform: Platform,
    readonly project: string,
    readonly name: string,
    private readonly app: MonitoringApplication,
    private readonly opts: { options?: Record<string, unknown>; sampleSize?: number; batchSize?: number } = {},
  ) {}

  async step(): Promise<number> {
    const stream = await this.platform.streamFor(this.project);
    this.sub ??= await stream.subscribe(topics.app(this.project, this.name), `app-${this.name}`);
    const jobs = await this.sub.fetch(this.opts.batchSize ?? 50, 0);
    if (jobs.length === 0) return 0;
    const out: WriterMessage[] = [];
    for (const m of jobs) {
      let job: WindowJob;
      try {
        job = JSON.parse(m.value) as WindowJob;
      } catch {
        this.platform.logger.error({ app: this.name, offset: m.offset }, 'window job is not JSON; skipped');
        continue;
      }
      out.push(await this.runOne(job));
    }
    if (out.length) {
      await stream.publish(topics.writer(this.project), out.map((o) => ({ key: o.endpointId, value: JSON.stringify(o) })));
    }
    await this.sub.ack(jobs);
    return jobs.length;
  }

  /** Runs the app on one window; never throws. */
  async runOne(job: WindowJob): Promise<WriterMessage> {
    const base = { project: job.project, endpointId: job.endpointId, app: this.name, windowStart: job.windowStart, windowEnd: job.windowEnd };
    this.runs++;
    try {
      const endpoint = await this.platform.store.getEndpoint(job.project, job.endpointId);
      if (!endpoint) throw new Error(`model endpoint '${job.endpointId}' no longer exists`);
      const ctx = await buildContext({
        appName: this.name,
        endpoint,
        windowStart: job.windowStart,
        windowEnd: job.windowEnd,
        tsdb: await this.platform.tsdbFor(job.project),
        artifactPath: this.platform.options.artifactPath,
        logger: this.platform.logger,
        options: this.opts.options ?? {},
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
