import { ConflictError, NotFoundError, ValidationError } from '../../common/errors.ts';
import type { Platform } from '../../project/platform.ts';
import type { LateWindow, LateWindowQuery } from '../../store/port.ts';
import { topics } from '../../stream/port.ts';
import { windowStartOf, type WindowJob } from '../worker.ts';

/** What to analyze again (see {@link reanalyzeWindows}): the windows with late predictions, or one window. */
export interface ReanalyzeOptions {
  /** Every window with late predictions no analysis has taken in yet (of `endpointId` only, when given). */
  late?: boolean;
  endpointId?: string;
  /** Start of one window of `endpointId` (epoch ms, on the base-period grid). */
  windowStart?: number;
  /** Only this app; default every deployed monitoring app. */
  app?: string;
}

/** A window handed to an app again. */
export interface ReanalyzedWindow {
  endpointId: string;
  app: string;
  windowStart: number;
  windowEnd: number;
}

/** Windows published per call. */
const PUBLISH_CHUNK = 1000;

/**
 * Hands windows that were analyzed already to the apps again, as the controller hands out a
 * closed window: the apps read the window as stored now (late predictions included) and the
 * writer replaces the window's results and metrics, which are keyed by window. A window goes
 * only to the apps that analyzed it already; the others get it when it closes. Windows with late
 * predictions are marked as reanalyzed (what was late until now is taken in).
 * @throws ValidationError for a bad option or a window no app has analyzed yet; NotFoundError for an unknown endpoint or app.
 */
export async function reanalyzeWindows(platform: Platform, project: string, opts: ReanalyzeOptions): Promise<ReanalyzedWindow[]> {
  const settings = (await platform.store.getProject(project))?.monitoring;
  if (!settings) throw new ValidationError(`monitoring is not enabled on project '${project}'`);
  const late = opts.late === true;
  if (late === (opts.windowStart !== undefined)) throw new ValidationError('reanalyze either the windows with late predictions (late) or one window (endpointId and windowStart)');
  const endpoints = await platform.endpointStoreFor(project);
  if (opts.endpointId !== undefined && !(await endpoints.getEndpoint(project, opts.endpointId))) throw new NotFoundError('model endpoint', opts.endpointId);
  const deployed = (await platform.store.listFunctions(project)).filter((f) => f.kind === 'monitoring-application' && f.deployed).map((f) => f.name);
  if (opts.app !== undefined && !deployed.includes(opts.app)) throw new NotFoundError('deployed monitoring application', opts.app);
  const apps = opts.app !== undefined ? [opts.app] : deployed;

  let windows: { endpointId: string; windowStart: number; windowEnd: number }[];
  if (late) {
    const q: LateWindowQuery = { pending: true };
    if (opts.endpointId !== undefined) q.endpointId = opts.endpointId;
    windows = await endpoints.listLateWindows(project, q);
  } else {
    const start = opts.windowStart!;
    const periodMs = settings.basePeriodMinutes * 60_000;
    if (opts.endpointId === undefined) throw new ValidationError('reanalyzing one window needs its endpointId');
    if (!Number.isSafeInteger(start) || windowStartOf(start, periodMs) !== start) {
      throw new ValidationError(`windowStart must be the start of a window: epoch ms on the ${settings.basePeriodMinutes}-minute grid, e.g. ${new Date(windowStartOf(Number.isFinite(start) ? start : 0, periodMs)).toISOString()}`);
    }
    windows = [{ endpointId: opts.endpointId, windowStart: start, windowEnd: start + periodMs }];
  }

  const out: ReanalyzedWindow[] = [];
  for (const app of apps) {
    const marks = await endpoints.listLastAnalyzed(project, app);
    for (const w of windows) if ((marks.get(w.endpointId) ?? -Infinity) >= w.windowEnd) out.push({ endpointId: w.endpointId, app, ...span(w) });
  }
  if (!late && out.length === 0) {
    const w = windows[0]!;
    throw new ConflictError(`window ${new Date(w.windowStart).toISOString()} of endpoint '${w.endpointId}' has not been analyzed yet; it will be once it closes`);
  }
  if (out.length === 0) return out;
  const stream = await platform.streamFor(project);
  for (const app of apps) {
    const jobs = out.filter((w) => w.app === app).map((w): WindowJob => ({ type: 'window', project, endpointId: w.endpointId, app, windowStart: w.windowStart, windowEnd: w.windowEnd }));
    for (let i = 0; i < jobs.length; i += PUBLISH_CHUNK) {
      await stream.publish(topics.app(project, app), jobs.slice(i, i + PUBLISH_CHUNK).map((j) => ({ key: j.endpointId, value: JSON.stringify(j) })));
    }
  }
  const handed = new Map(out.map((w) => [`${w.endpointId}\u0000${w.windowStart}`, w]));
  await endpoints.markReanalyzed(project, [...handed.values()], platform.clock.now());
  platform.logger.info({ project, windows: handed.size, apps: [...new Set(out.map((w) => w.app))] }, 'windows handed to their apps again');
  return out;
}

/** The windows of the project that got late predictions (see {@link LateWindow}), newest first. */
export async function listLateWindows(platform: Platform, project: string, q: LateWindowQuery = {}): Promise<LateWindow[]> {
  if (q.limit !== undefined && !(Number.isSafeInteger(q.limit) && q.limit >= 1)) throw new ValidationError(`limit must be a whole number >= 1, got ${String(q.limit)}`);
  return (await platform.endpointStoreFor(project)).listLateWindows(project, q);
}

function span(w: { windowStart: number; windowEnd: number }): { windowStart: number; windowEnd: number } {
  return { windowStart: w.windowStart, windowEnd: w.windowEnd };
}
