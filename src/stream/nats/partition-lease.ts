import { RecordConflict, type GroupRecords } from './group-records.ts';

/**
 * A member's hold on one partition of a group: the revision of the group record it last wrote.
 * Every write (commit, renewal, release) is a compare-and-set on that revision and they are made
 * one at a time. The hold is trusted locally only until `sentAt + ttl - margin` of the last write
 * that succeeded, because another member may take the partition over once it has seen the same
 * revision unchanged for `ttl`.
 */
export class PartitionLease {
  lost = false;
  lastWriteAt: number;
  private rev: number;
  private validUntil: number;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly records: GroupRecords,
    readonly subject: string,
    readonly owner: string,
    rev: number,
    sentAt: number,
    private readonly ttlMs: number,
  ) {
    this.rev = rev;
    this.lastWriteAt = sentAt;
    this.validUntil = sentAt + this.usableMs();
  }

  /** True while this member may hand out the partition's messages. */
  valid(): boolean {
    return !this.lost && Date.now() < this.validUntil;
  }

  /**
   * Runs `make` in turn with the other writes; writes the record it returns (nothing when it
   * returns undefined) and then runs `after`. A conflict marks the lease lost and rejects.
   */
  update(make: () => { next: number; seq: number; owner?: string } | undefined, after?: () => void): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.lost) throw new RecordConflict(this.subject);
      const r = make();
      if (!r) return;
      const sentAt = Date.now();
      try {
        this.rev = await this.records.write(this.subject, this.rev, { owner: r.owner ?? this.owner, next: r.next, seq: r.seq });
      } catch (err) {
        if (err instanceof RecordConflict) this.lost = true;
        throw err;
      }
      this.lastWriteAt = sentAt;
      this.validUntil = sentAt + this.usableMs();
      after?.();
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  private usableMs(): number {
    return this.ttlMs - Math.max(50, this.ttlMs / 5);
  }
}
