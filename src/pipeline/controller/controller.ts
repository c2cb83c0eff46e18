import { randomUUID } from 'node:crypto';
import { CONTROLLER_FUNCTION } from '../../common/names.ts';
import type { Platform } from '../../project/platform.ts';
import { topics } from '../../stream/port.ts';
import { windowStartOf, type WindowJob, type Worker } from '../worker.ts';

export interface ControllerOptions {
  /** Lease length; a crashed leader's lease runs out after this. @default 60_000 */
  leaseTtlMs?: number;
  /** Identifies this controller in the lease. @default a random id */
  holder?: string;
}

/**
 * Hands every closed window of every enabled endpoint to every deployed monitoring app.
 * Windows are `[t, t + basePeriod)` aligned to the wall clock and close once
 * `now >= end + grace`, whether or not newer traffic came. Per (endpoint, app) the last
 * analyzed window end is kept in the store; missed windows are caught up (bounded per tick);
 * empty windows are skipped. One leader per project, through a lease in the store.
 */
export class Controller implements Worker {
  readonly name = CONTROLLER_FUNCTION;
  private readonly leaseTtlMs: number;
  private readonly holder: string;
  private nextDueAt: number | undefined;
  private settingsKey = '';
  windowsSent = 0;
  windowsSkipped = 0;

  constructor(
    private readonly platform: Platform,
    readonly project: string,
    opts: ControllerOptions = {},
  ) {
    this.leaseTtlMs = opts.leaseTtlMs ?? 60_000;
    this.holder = opts.holder ?? `controller-${randomUUID()}`;
  }

  /** One tick: returns the number of windows handed to apps. */
  async step(): Promise<number> {
    const { store, clock } = this.platform;
    const project = await store.getProject(this.project);
    const settings = project?.monitoring;
    if (!settings?.enabled) return 0;
    const now = clock.now();
    const settingsKey = `${settings.basePeriodMinutes}/${settings.graceSeconds}/${settings.maxWindowsPerTick}`;
    // Windows close only on the base-period grid: between closings a tick costs one read.
    if (this.nextDueAt !== undefined && settingsKey === this.settingsKey && now < this.nextDueAt) return 0;
    if (!(await store.acquireLease(`controller:${this.project}`, this.holder, this.leaseTtlMs, now))) return 0;
    const periodMs = settings.basePeriodMinutes * 60_000;
    const graceMs = settings.graceSeconds * 1000;
    const apps = (await store.listFunctions(this.project)).filter((f) => f.kind === 'monitoring-application' && f.deployed);
    if (apps.length === 0) return 0;
    const endpoints = (await store.listEndpoints(this.project)).filter((e) => e.monitoringMode === 'enabled' && e.firstRequest !== null);
    const tsdb = await this.platform.tsdbFor(this.project);
    const stream = await this.platform.streamFor(this.project);
    // The newest window whose end (plus grace) has passed.
    const lastClosedEnd = windowStartOf(now - graceMs, periodMs);
    let sent = 0;
    let backlog = false;
    for (const ep of endpoints) {
      const firstStart = windowStartOf(ep.firstRequest!, periodMs);
      const counts = new Map<number, number>();
      for (const app of apps) {
        const done = await store.getLastAnalyzed(this.project, ep.id, app.name);
        let start = done === undefined ? firstStart : Math.max(firstStart, windowStartOf(done, periodMs));
        const jobs: WindowJob[] = [];
        let lastEnd: number | undefined;
        for (let n = 0; n < settings.maxWindowsPerTick && start + periodMs <= lastClosedEnd; start += periodMs) {
          const end = start + periodMs;
          lastEnd = end;
          let c = counts.get(start);
          if (c === undefined) {
            c = await tsdb.countPredictions(this.project, ep.id, { start, end });
            counts.set(start, c);
          }
          if (c === 0) {
            this.windowsSkipped++;
            continue;
          }
          jobs.push({ type: 'window', project: this.project, endpointId: ep.id, app: app.name, windowStart: start, windowEnd: end });
          n++;
        }
        if (start + periodMs <= lastClosedEnd) backlog = true;
        if (jobs.length > 0) {
          await stream.publish(
            topics.app(this.project, app.name),
            jobs.map((j) => ({ key: j.endpointId, value: JSON.stringify(j) })),
          );
        }
        // Recorded after publishing: a crash in between hands the window out again (at least once).
        if (lastEnd !== undefined) await store.setLastAnalyzed(this.project, ep.id, app.name, lastEnd);
        sent += jobs.length;
      }
    }
    this.windowsSent += sent;
    this.settingsKey = settingsKey;
    // Caught up: sleep until the next window closes. Behind (catch-up bounded per tick): go on.
    this.nextDueAt = backlog ? undefined : lastClosedEnd + periodMs + graceMs;
    return sent;
  }

  async close(): Promise<void> {
    await this.platform.store.releaseLease(`controller:${this.project}`, this.holder).catch(() => undefined);
  }
}
