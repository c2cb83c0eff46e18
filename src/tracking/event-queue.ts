/**
 * A FIFO queue with O(1) push and shift (an array with a moving head), because the tracker
 * drops from the front on every event once it is full and `Array#shift` would copy the whole
 * queue each time.
 */
export class EventQueue<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined as T; // let it be collected
    this.head += 1;
    this.maybeCompact();
    return item;
  }

  /** Removes and returns up to `n` items from the front. */
  take(n: number): T[] {
    const out = this.items.slice(this.head, this.head + n);
    this.items.fill(undefined as T, this.head, this.head + out.length);
    this.head += out.length;
    this.maybeCompact();
    return out;
  }

  /** Puts items back at the front, in their order. */
  unshiftAll(items: T[]): void {
    if (items.length === 0) return;
    this.items = [...items, ...this.items.slice(this.head)];
    this.head = 0;
  }

  /** Removes, in one pass, every item for which `remove` returns true. */
  removeWhere(remove: (item: T) => boolean): void {
    const kept = this.items.slice(this.head).filter((item) => !remove(item));
    this.items = kept;
    this.head = 0;
  }

  /** Empties the queue and returns how many items it held. */
  clear(): number {
    const n = this.length;
    this.items = [];
    this.head = 0;
    return n;
  }

  // Copy the live part down only once the dead prefix is large, so each item is copied O(1) times.
  private maybeCompact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
