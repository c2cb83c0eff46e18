/**
 * Wakes a subscription's fetch loop when data (or a partition) arrives, instead of letting it
 * sleep out its poll interval: `wait(ms)` resolves at the next `notify()` or after `ms`.
 */
export class DataSignal {
  private readonly waiters = new Set<() => void>();

  /** Resolves at the next {@link notify} or after `ms`, whichever comes first. */
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        this.waiters.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  /** Wakes every waiter now. */
  notify(): void {
    for (const wake of [...this.waiters]) wake();
  }
}
