import { errorMessage } from '../../common/errors.ts';
import { HISTOGRAM_DRIFT_APP, WRITER_FUNCTION } from '../../common/names.ts';
import { kindName, statusName, type AppResult } from '../../common/types.ts';
import type { Platform } from '../../project/platform.ts';
import type { MonitoringEvent } from '../../store/port.ts';
import { topics, type Subscription } from '../../stream/port.ts';
import type { Worker, WriterMessage } from '../worker.ts';

/** `data_drift` + `detected` → `data-drift-detected`; potential detections are `-suspected`. */
export function eventKindFor(r: Pick<AppResult, 'kind' | 'status'>): string | undefined {
  if (r.status === 2) return `${kindName(r.kind).replace(/_/g, '-')}-detected`;
  if (r.status === 1) return `${kindName(r.kind).replace(/_/g, '-')}-suspected`;
  return undefined;
}

/**
 * Stores application results and metrics (history and latest view), updates an endpoint's
 * drift status and measures from `histogram-data-drift/general_drift`, and records
 * detected/suspected events and `mm-app-failed`.
 */
export class Writer implements Worker {
  readonly name = WRITER_FUNCTION;
  private sub: Subscription | undefined;
  written = 0;

  constructor(
    private readonly platform: Platform,
    readonly project: string,
    private readonly batchSize = 500,
  ) {}

  async step(): Promise<number> {
    const stream = await this.platform.streamFor(this.project);
    this.sub ??= await stream.subscribe(topics.writer(this.project), WRITER_FUNCTION);
    const messages = await this.sub.fetch(this.batchSize, 0);
    if (messages.length === 0) return 0;
    for (const m of messages) {
      let msg: WriterMessage;
      try {
        msg = JSON.parse(m.value) as WriterMessage;
      } catch (err) {
        this.platform.logger.error({ offset: m.offset, err: errorMessage(err) }, 'writer dropped a message that is not JSON');
        continue;
      }
      await this.write(msg);
    }
    await this.sub.ack(messages);
    this.written += messages.length;
    return messages.length;
  }

  private async write(msg: WriterMessage): Promise<void> {
    const { store, clock } = this.platform;
    const tsdb = await this.platform.tsdbFor(msg.project);
    const now = clock.now();
    const base = { project: msg.project, endpointId: msg.endpointId, app: msg.app, windowStart: msg.windowStart, windowEnd: msg.windowEnd };
    if (msg.type === 'app-failed') {
      await store.addEvents([{ ...base, kind: 'mm-app-failed', resultName: null, value: null, kindValue: null, status: null, message: msg.error, time: now }]);
      return;
    }
    await tsdb.writeResults(msg.results.map((r) => ({ ...base, name: r.name, kind: r.kind, status: r.status, value: r.value, extraData: r.extraData ?? {}, writtenAt: now })));
    await tsdb.writeMetrics(msg.metrics.map((x) => ({ ...base, name: x.name, value: x.value, writtenAt: now })));
    const events: MonitoringEvent[] = [];
    for (const r of msg.results) {
      const kind = eventKindFor(r);
      if (!kind) continue;
      events.push({
        ...base,
        kind,
        resultName: r.name,
        value: r.value,
        kindValue: r.kind,
        status: r.status,
        message: `${msg.project}.${msg.app}.result.${r.name} = ${round(r.value)} (${statusName(r.status)}) on endpoint ${msg.endpointId}`,
        time: now,
      });
    }
    if (events.length) await store.addEvents(events);
    if (msg.app === HISTOGRAM_DRIFT_APP) await this.updateDrift(msg, now);
  }

  /** The endpoint shows the drift of its newest analyzed window. */
  private async updateDrift(msg: Extract<WriterMessage, { type: 'outputs' }>, now: number): Promise<void> {
    const general = msg.results.find((r) => r.name === 'general_drift');
    if (!general) return;
    const ep = await this.platform.store.getEndpoint(msg.project, msg.endpointId);
    if (!ep) return;
    const prevEnd = typeof ep.driftMeasures.windowEnd === 'number' ? ep.driftMeasures.windowEnd : -Infinity;
    if (msg.windowEnd < prevEnd) return;
    const metrics = Object.fromEntries(msg.metrics.map((m) => [m.name, m.value]));
    const extra = general.extraData ?? {};
    await this.platform.store.patchEndpoint(msg.project, msg.endpointId, {
      driftStatus: statusName(general.status),
      driftMeasures: {
        general_drift: general.value,
        ...metrics,
        features: extra.features ?? {},
        windowStart: msg.windowStart,
        windowEnd: msg.windowEnd,
      },
      currentStats: (extra.currentStats as typeof ep.currentStats | undefined) ?? ep.currentStats,
      updatedAt: now,
    });
  }

  async close(): Promise<void> {
    await this.sub?.close();
    this.sub = undefined;
  }
}

function round(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(4);
}
