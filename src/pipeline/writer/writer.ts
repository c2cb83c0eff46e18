import { errorMessage } from '../../common/errors.ts';
import { HISTOGRAM_DRIFT_APP, WRITER_FUNCTION } from '../../common/names.ts';
import { kindName, ResultStatus, statusName, type AppResult, type EndpointRecord } from '../../common/types.ts';
import type { Platform } from '../../project/platform.ts';
import type { MonitoringEvent, Store } from '../../store/port.ts';
import type { MetricRow, ResultRow } from '../../store/tsdb-port.ts';
import { topics, type Subscription } from '../../stream/port.ts';
import type { Worker, WriterMessage } from '../worker.ts';

type Outputs = Extract<WriterMessage, { type: 'outputs' }>;

/** `data_drift` + `detected` → `data-drift-detected`; potential detections are `-suspected`. */
export function eventKindFor(r: Pick<AppResult, 'kind' | 'status'>): string | undefined {
  if (r.status === 2) return `${kindName(r.kind).replace(/_/g, '-')}-detected`;
  if (r.status === 1) return `${kindName(r.kind).replace(/_/g, '-')}-suspected`;
  return undefined;
}

/**
 * Stores application results and metrics (history and latest view), updates an endpoint's
 * drift status and measures from `histogram-data-drift/general_drift` (unless its status is
 * irrelevant), and records detected/suspected events and `mm-app-failed`.
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
    const sub = (this.sub ??= await stream.subscribe(topics.writer(this.project), WRITER_FUNCTION));
    try {
      return await this.writeFrom(sub);
    } catch (err) {
      // What was fetched and not written goes to the next subscription: an acknowledgement of a later
      // batch on this one would commit past it.
      this.sub = undefined;
      await sub.close().catch(() => undefined);
      throw err;
    }
  }

  /** Fetches a batch, writes it and acknowledges it; returns its messages. */
  private async writeFrom(sub: Subscription): Promise<number> {
    const messages = await sub.fetch(this.batchSize, 0);
    if (messages.length === 0) return 0;
    const byProject = new Map<string, WriterMessage[]>();
    for (const m of messages) {
      let msg: WriterMessage;
      try {
        msg = JSON.parse(m.value) as WriterMessage;
      } catch (err) {
        this.platform.logger.error({ offset: m.offset, err: errorMessage(err) }, 'writer dropped a message that is not JSON');
        continue;
      }
      const list = byProject.get(msg.project);
      if (list) list.push(msg);
      else byProject.set(msg.project, [msg]);
    }
    for (const [project, list] of byProject) await this.writeBatch(project, list);
    await sub.ack(messages);
    this.written += messages.length;
    return messages.length;
  }

  /**
   * Writes one batch of a project's messages with a handful of statements: every result, every
   * metric and every event in one write each (a window delivered twice in the batch keeps its last
   * copy), then the drift status of the endpoints that got a newer `general_drift`.
   */
  private async writeBatch(project: string, batch: WriterMessage[]): Promise<void> {
    const { clock } = this.platform;
    const tsdb = await this.platform.tsdbFor(project);
    const store = await this.platform.endpointStoreFor(project);
    const now = clock.now();
    const results = new Map<string, ResultRow>();
    const metrics = new Map<string, MetricRow>();
    const events: MonitoringEvent[] = [];
    /** Per endpoint, the histogram-drift output of the newest window in the batch. */
    const drift = new Map<string, Outputs>();
    for (const msg of batch) {
      const base = { project: msg.project, endpointId: msg.endpointId, app: msg.app, windowStart: msg.windowStart, windowEnd: msg.windowEnd };
      if (msg.type === 'app-failed') {
        events.push({ ...base, kind: 'mm-app-failed', resultName: null, value: null, kindValue: null, status: null, message: msg.error, time: now });
        continue;
      }
      const key = `${msg.endpointId}\u0000${msg.app}\u0000${msg.windowStart}\u0000`;
      for (const r of msg.results) {
        results.set(key + r.name, { ...base, name: r.name, kind: r.kind, status: r.status, value: r.value, extraData: r.extraData ?? {}, writtenAt: now });
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
      for (const x of msg.metrics) metrics.set(key + x.name, { ...base, name: x.name, value: x.value, writtenAt: now });
      // An irrelevant general_drift (a window too small to judge) leaves the endpoint's drift as it was.
      if (msg.app === HISTOGRAM_DRIFT_APP && msg.results.some((r) => r.name === 'general_drift' && r.status !== ResultStatus.irrelevant)) {
        const prev = drift.get(msg.endpointId);
        if (!prev || msg.windowEnd >= prev.windowEnd) drift.set(msg.endpointId, msg);
      }
    }
    if (results.size) await tsdb.writeResults([...results.values()]);
    if (metrics.size) await tsdb.writeMetrics([...metrics.values()]);
    if (events.length) await store.addEvents(events);
    if (drift.size) await this.updateDrift(store, project, [...drift.values()], now);
  }

  /** The endpoint shows the drift of its newest analyzed window. */
  private async updateDrift(store: Store, project: string, outputs: Outputs[], now: number): Promise<void> {
    const endpoints = new Map((await store.getEndpoints(project, outputs.map((o) => o.endpointId))).map((e) => [e.id, e]));
    const patches: { id: string; patch: Partial<EndpointRecord> }[] = [];
    for (const msg of outputs) {
      const general = msg.results.find((r) => r.name === 'general_drift');
      const ep = endpoints.get(msg.endpointId);
      if (!general || !ep) continue;
      const prevEnd = typeof ep.driftMeasures.windowEnd === 'number' ? ep.driftMeasures.windowEnd : -Infinity;
      if (msg.windowEnd < prevEnd) continue;
      const metrics = Object.fromEntries(msg.metrics.map((m) => [m.name, m.value]));
      const extra = general.extraData ?? {};
      patches.push({
        id: msg.endpointId,
        patch: {
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
        },
      });
    }
    await store.patchEndpoints(project, patches);
  }

  async close(): Promise<void> {
    await this.sub?.close();
    this.sub = undefined;
  }
}

function round(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(4);
}
