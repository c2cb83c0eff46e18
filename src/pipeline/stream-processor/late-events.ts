import type { LateCount, Store } from '../../store/port.ts';
import type { WindowRows } from './histogram-accumulator.ts';

/**
 * Counts the rows of a stored batch that came too late for their window: the window had been
 * handed out to an app (or was being handed out) before the rows were stored. Called once the
 * batch is stored, so that the reads below follow the write: the controller moves the project's
 * closed end, then claims windows, then publishes them, so a row an app may not have read is in a
 * window whose end is at or before the closed end read here, and at or before its endpoint's
 * mark or claim. A row stored while its window's claim was being published may have been read
 * after all: it is counted (a reanalysis then changes nothing), never missed. The common case
 * costs one read: no row of the batch is in a closed window.
 * @returns the late rows.
 */
export async function recordLateRows(store: Store, project: string, windows: readonly WindowRows[], now: number): Promise<number> {
  if (windows.length === 0) return 0;
  const closed = await store.getClosedThrough(project);
  if (closed === undefined) return 0;
  const candidates = windows.filter((w) => w.windowEnd <= closed && w.rows > 0);
  if (candidates.length === 0) return 0;
  const analyzed = await store.analyzedThrough(project, [...new Set(candidates.map((w) => w.endpointId))]);
  const late = new Map<string, LateCount>();
  for (const w of candidates) {
    if ((analyzed.get(w.endpointId) ?? -Infinity) < w.windowEnd) continue;
    // A batch's partitions hold different endpoints, but one endpoint may come from two of them after a repartition.
    const key = `${w.endpointId}\u0000${w.windowStart}`;
    const c = late.get(key);
    if (c) c.predictions += w.rows;
    else late.set(key, { endpointId: w.endpointId, windowStart: w.windowStart, windowEnd: w.windowEnd, predictions: w.rows });
  }
  if (late.size === 0) return 0;
  await store.addLatePredictions(project, [...late.values()], now);
  let n = 0;
  for (const c of late.values()) n += c.predictions;
  return n;
}
