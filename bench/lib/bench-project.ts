import type { Store } from '../../src/store/port.ts';

/** Creates a benchmark's project with monitoring on (60 s grace), as `enableMonitoring` would. */
export async function createMonitoredProject(
  store: Store,
  o: { name: string; description: string; now: number; maxWindowsPerTick: number; basePeriodMinutes?: number },
): Promise<void> {
  await store.createProject({
    name: o.name,
    description: o.description,
    labels: {},
    monitoring: { enabled: true, basePeriodMinutes: o.basePeriodMinutes ?? 10, graceSeconds: 60, maxWindowsPerTick: o.maxWindowsPerTick, enabledAt: o.now },
    createdAt: o.now,
  });
}
