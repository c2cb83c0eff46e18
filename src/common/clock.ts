/**
 * All time in the platform comes from one clock. Production uses {@link systemClock};
 * tests and the demo use a {@link ManualClock} to drive windows deterministically.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms` of this clock's time (a manual clock resolves when advanced past it). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    }),
};

/** A clock that only moves when told to. */
export class ManualClock implements Clock {
  private t: number;
  private waiters: { at: number; resolve: () => void }[] = [];

  constructor(startMs: number = Date.UTC(2026, 0, 1)) {
    this.t = startMs;
  }

  now(): number {
    return this.t;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      if (signal?.aborted || ms <= 0) return resolve();
      const w = { at: this.t + ms, resolve };
      this.waiters.push(w);
      signal?.addEventListener(
        'abort',
        () => {
          this.waiters = this.waiters.filter((x) => x !== w);
          resolve();
        },
        { once: true },
      );
    });
  }

  /** Moves time forward and wakes every sleeper whose time has come. */
  advance(ms: number): void {
    this.set(this.t + ms);
  }

  set(ms: number): void {
    if (ms < this.t) throw new Error('a manual clock does not go backwards');
    this.t = ms;
    const due = this.waiters.filter((w) => w.at <= ms);
    this.waiters = this.waiters.filter((w) => w.at > ms);
    for (const w of due) w.resolve();
  }
}

/** ISO-8601 with microseconds (`2026-01-01T00:00:00.000000Z`), as inference events carry it. */
export function isoMicros(ms: number, micros = 0): string {
  const base = new Date(ms).toISOString(); // ...sss Z
  return `${base.slice(0, 23)}${String(Math.trunc(micros) % 1000).padStart(3, '0')}Z`;
}

/** Parses an ISO time (milli- or microsecond precision) into epoch milliseconds. */
export function parseTime(value: string | number | Date): number {
  if (typeof value === 'number') return value;
  if (value instanceof Date) return value.getTime();
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new Error(`not a time: '${value}'`);
  return ms;
}
