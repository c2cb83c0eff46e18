import type { MonitoringApplicationContext } from './context.ts';
import type { ApplicationOutput } from './results.ts';

/**
 * Base of every monitoring application. The controller hands each closed window of each
 * endpoint to `doTracking`; what it returns is validated and sent to the writer.
 */
export abstract class MonitoringApplication {
  /** Options given at registration (`setModelMonitoringFunction({ ..., options })`). */
  readonly options: Record<string, unknown>;
  /**
   * Whether `doTracking` reads `ctx.sample` (the window's rows). An app that works from
   * `sampleStats` and `featureStats` alone sets this to false, and its windows are analyzed
   * without reading the rows (reading `ctx.sample` then throws).
   */
  readonly usesSample: boolean = true;

  constructor(options: Record<string, unknown> = {}) {
    this.options = options;
  }

  abstract doTracking(ctx: MonitoringApplicationContext): ApplicationOutput | Promise<ApplicationOutput>;
}

/** A class that builds a {@link MonitoringApplication}. */
export type MonitoringApplicationClass = new (options?: Record<string, unknown>) => MonitoringApplication;

export function isApplicationClass(v: unknown): v is MonitoringApplicationClass {
  return typeof v === 'function' && typeof (v as { prototype?: { doTracking?: unknown } }).prototype?.doTracking === 'function';
}
