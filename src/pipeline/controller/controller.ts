import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { ValidationError } from '../../common/errors.ts';
import { CONTROLLER_FUNCTION, STREAM_FUNCTION } from '../../common/names.ts';
import type { Platform } from '../../project/platform.ts';
import type { Store } from '../../store/port.ts';
import { caughtUp, topics, type PartitionProgress, type Stream } from '../../stream/port.ts';
import { windowStartOf, type WindowJob, type Worker } from '../worker.ts';

/** Where one (endpoint, app) stands while a tick plans its windows. */
interface Plan {
  id: string;
  /** Start of the next window to look at. */
  start: number;
  /** Windows handed out this tick. */
  sent: number;
  /** End of the last window looked at (handed out or skipped as empty). */
  lastEnd: number | undefined;
}

/**
 * A read of the events topic's progress taken once windows up to `end` had passed their grace:
 * they close when the stream processors acknowledged everything it saw published.
 */
interface Seal {
  end: number;
  /** The stream read (a project's credentials may move it: a seal of another stream is taken again). */
  url: string;
  published: PartitionProgress[];
  /** Clock time of the read. */
  at: number;
  /** Whether the wait was reported already (once at info, once more at warn after a base period). */
  told: 0 | 1 | 2;
}

/** Window jobs per publish call. */
const PUBLISH_CHUNK = 1000;

export interface ControllerOptions {
  /** Lease length; a crashed leader's lease runs out after this. @default 60_000 */
  leaseTtlMs?: number;
  /** Identifies this controller in the lease. @default `controller:<host>:<pid>:<random>` */
  holder?: string;
}

/**
 * Hands every closed window of every enabled endpoint to every deployed monitoring app.
 * Windows are `[t, t + basePeriod)` aligned to the wall clock and close once `now >= end + grace`
 * (whether or not newer traffic came) *and* the stream processors have stored every event
 * published until then.
 *
 * The watermark: the first tick at which windows up to `end` have passed their grace reads, per
 * partition of the project's events topic, the offset of the last event published (a seal). The
 * windows close on the tick that finds the stream processors' consumer group acknowledged at or
 * past that offset on every partition; a processor acknowledges a batch only once it is stored.
 * Only offsets are compared, never clocks: the controller's own clock says when the grace is over,
 * and the stream says what was published by then. So it holds with any number of processors
 * sharing the partitions (each partition's acknowledged offset is its group's, whoever holds it),
 * with partitions that have no traffic (nothing published, nothing to wait for), and with skewed
 * producer clocks (an event stamped inside a window but published after its seal is late, not
 * waited for). The closed end is kept in the store before windows are handed out; the stream
 * processor counts rows it stores into windows handed out by then as late (see late-events.ts).
 *
 * Per (endpoint, app) the last analyzed window end is kept in the project's endpoint store;
 * missed windows are caught up (bounded per tick); empty windows are skipped. One leader per project, through a lease in the
 * platform store; windows are handed out under a compare-and-set claim on the marks, so that a
 * leader that stalled past its lease cannot hand out a window another controller handed out.
 * Delivery is at least once.
 */
export class Controller implements Worker {
  readonly name = CONTROLLER_FUNCTION;
  private readonly leaseTtlMs: number;
  private readonly holder: string;
  private nextDueAt: number | undefined;
  private settingsKey = '';
  /** Seals not yet reached, oldest first (see the class comment). */
  private seals: Seal[] = [];
  /** The end up to which a finished tick planned every window (−∞: not all of them, or none yet). */
  private plannedThrough = -Infinity;
  windowsSent = 0;
  windowsSkipped = 0;
  /**
   * While windows have passed their grace but wait for the stream processors: the end they wait
   * to close up to, and since when (clock time). Undefined when none waits.
   */
  waiting: { end: number; since: number } | undefined;

  constructor(
    private readonly platform: Platform,
    readonly project: string,
    opts: ControllerOptions = {},
  ) {
    if (opts.leaseTtlMs !== undefined && !(Number.isFinite(opts.leaseTtlMs) && opts.leaseTtlMs >= 1)) {
      throw new ValidationError(`the controller lease must last at least 1 ms, got ${String(opts.leaseTtlMs)}`);
    }
    this.leaseTtlMs = opts.leaseTtlMs ?? 60_000;
    this.holder = opts.holder ?? `controller:${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
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
    const endpointStore = await this.platform.endpointStoreFor(this.project);
    const stream = await this.platform.streamFor(this.project);
    // The newest window whose end (plus grace) has passed, and of those the newest whose events are stored.
    const graceEnd = windowStartOf(now - graceMs, periodMs);
    const lastClosedEnd = await this.closedThrough(endpointStore, stream, graceEnd, now, periodMs);
    if (lastClosedEnd < graceEnd && settingsKey === this.settingsKey && this.nextDueAt === undefined && this.plannedThrough >= lastClosedEnd) {
      // Waiting, and nothing closed since the last tick planned: the next tick reads the progress again.
      return 0;
    }
    const endpoints = await endpointStore.listMonitoredEndpoints(this.project);
    const tsdb = await this.platform.tsdbFor(this.project);
    // Predictions per (window, endpoint), counted once per tick for every app.
    const counts = new Map<number, Map<string, number>>();
    let sent = 0;
    let backlog = false;
    for (const app of apps) {
      const done = await endpointStore.listLastAnalyzed(this.project, app.name);
      const plans: Plan[] = endpoints.map((ep) => {
        const firstStart = windowStartOf(ep.firstRequest, periodMs);
        const prev = done.get(ep.id);
        return { id: ep.id, start: prev === undefined ? firstStart : Math.max(firstStart, windowStartOf(prev, periodMs)), sent: 0, lastEnd: undefined };
      });
      const jobs: WindowJob[] = [];
      // Rounds: each endpoint still planning looks at its next closed window; the endpoints
      // looking at the same window are counted in one query. Empty windows are skipped.
      let active = plans.filter((p) => p.start + periodMs <= lastClosedEnd);
      while (active.length > 0) {
        const byStart = new Map<number, Plan[]>();
        for (const p of active) {
          const group = byStart.get(p.start);
          if (group) group.push(p);
          else byStart.set(p.start, [p]);
        }
        for (const [start, group] of byStart) {
          const end = start + periodMs;
          let c = counts.get(start);
          if (!c) counts.set(start, (c = new Map()));
          const unknown = group.filter((p) => !c.has(p.id)).map((p) => p.id);
          if (unknown.length > 0) {
            const got = await tsdb.countPredictionsByEndpoint(this.project, unknown, { start, end });
            for (const id of unknown) c.set(id, got.get(id) ?? 0);
          }
          for (const p of group) {
            p.lastEnd = end;
            p.start = end;
            if (c.get(p.id) === 0) {
              this.windowsSkipped++;
              continue;
            }
            jobs.push({ type: 'window', project: this.project, endpointId: p.id, app: app.name, windowStart: start, windowEnd: end });
            p.sent++;
          }
        }
        active = active.filter((p) => p.sent < settings.maxWindowsPerTick && p.start + periodMs <= lastClosedEnd);
      }
      if (plans.some((p) => p.start + periodMs <= lastClosedEnd)) backlog = true;
      /** The new last analyzed window end per endpoint. */
      const ends = new Map<string, number>();
      for (const p of plans) if (p.lastEnd !== undefined) ends.set(p.id, p.lastEnd);
      if (ends.size === 0) continue;
      // Counting took time: renew the lease right before handing windows out.
      const claimedAt = clock.now();
      if (!(await store.acquireLease(`controller:${this.project}`, this.holder, this.leaseTtlMs, claimedAt))) {
        this.nextDueAt = undefined;
        this.windowsSent += sent;
        return sent;
      }
      // Our lease may still lapse from here on (a long stall), so the hand-out is fenced by a
      // compare-and-set in the store: claim the endpoints whose mark is still the one planned from
      // (another controller that moved on, or holds a live claim, keeps them), publish only what we
      // claimed, then move the marks. A claim runs out with the lease: if this process dies before
      // moving the marks, the windows are handed out again — at least once, never lost — and the
      // writer keys results by (endpoint, app, window, name), so a repeat replaces rather than adds.
      const claimId = `${this.holder.slice(0, 200)}/${randomUUID()}`;
      const claims = [...ends].map(([endpointId, end]) => ({ endpointId, expected: done.get(endpointId), end }));
      const claimed = await endpointStore.claimWindows(this.project, app.name, claims, claimId, claimedAt + this.leaseTtlMs, claimedAt);
      const out = jobs.filter((j) => claimed.has(j.endpointId));
      const topic = topics.app(this.project, app.name);
      try {
        for (let i = 0; i < out.length; i += PUBLISH_CHUNK) {
          await stream.publish(topic, out.slice(i, i + PUBLISH_CHUNK).map((j) => ({ key: j.endpointId, value: JSON.stringify(j) })));
        }
      } catch (err) {
        // Not published (or partly): give the claims back so that the next tick hands the windows out again.
        await endpointStore.releaseClaims(this.project, app.name, claimId).catch(() => undefined);
        throw err;
      }
      await endpointStore.completeClaims(this.project, app.name, claimId);
      sent += out.length;
    }
    this.windowsSent += sent;
    this.settingsKey = settingsKey;
    this.plannedThrough = backlog ? -Infinity : lastClosedEnd;
    // Caught up: sleep until the next window closes. Behind (catch-up bounded per tick) or waiting
    // for the stream processors: go on.
    this.nextDueAt = backlog || lastClosedEnd < graceEnd ? undefined : lastClosedEnd + periodMs + graceMs;
    return sent;
  }

  /**
   * The end up to which windows may close: `graceEnd` once the stream processors stored everything
   * published by the first tick that saw it (see the class comment), else the newest seal reached
   * (or what the store says an earlier leader closed). Moves the store's closed end first.
   */
  private async closedThrough(store: Store, stream: Stream, graceEnd: number, now: number, periodMs: number): Promise<number> {
    const stored = (await store.getClosedThrough(this.project)) ?? -Infinity;
    if (stored >= graceEnd) {
      this.seals = this.seals.filter((s) => s.end > stored);
      this.waiting = undefined;
      return graceEnd;
    }
    const progress = await stream.progress(topics.events(this.project), STREAM_FUNCTION);
    this.seals = this.seals.filter((s) => s.url === stream.url && s.end > stored);
    const newest = this.seals.at(-1);
    if (!newest || newest.end < graceEnd) this.seals.push({ end: graceEnd, url: stream.url, published: progress, at: now, told: 0 });
    // Offsets only grow, so a seal reached means every older one is: the newest reached decides.
    let reached = stored;
    for (const seal of this.seals) if (caughtUp(seal.published, progress)) reached = Math.max(reached, seal.end);
    this.seals = this.seals.filter((s) => s.end > reached);
    if (reached > stored) await store.setClosedThrough(this.project, reached, now);
    const next = this.seals[0];
    if (!next) {
      this.waiting = undefined;
      return Math.min(reached, graceEnd);
    }
    if (this.waiting?.end !== next.end) this.waiting = { end: next.end, since: next.at };
    this.tellWaiting(next, progress, now, periodMs);
    return Math.min(reached, graceEnd);
  }

  /** Says once that windows wait for the stream processors, and once more (a warning) when they still do a base period later. */
  private tellWaiting(seal: Seal, progress: PartitionProgress[], now: number, periodMs: number): void {
    const level = now - seal.at >= periodMs ? 2 : 1;
    if (seal.told >= level) return;
    seal.told = level;
    const acked = new Map(progress.map((p) => [p.partition, p.acknowledged]));
    const behind = seal.published
      .filter((p) => p.published !== undefined && !caughtUp([p], progress))
      .map((p) => ({ partition: p.partition, published: p.published, acknowledged: acked.get(p.partition) ?? null }));
    const fields = { project: this.project, windowEnd: new Date(seal.end).toISOString(), waitingMs: now - seal.at, behind };
    if (level === 1) this.platform.logger.info(fields, 'windows wait for the stream processor to store the events published before they closed');
    else this.platform.logger.warn(fields, 'windows still wait for the stream processor to store the events published before they closed (is it running?)');
  }

  async close(): Promise<void> {
    await this.platform.store.releaseLease(`controller:${this.project}`, this.holder).catch(() => undefined);
  }
}
