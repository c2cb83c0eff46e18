import type { NatsConnection, Subscription as CoreSubscription } from '@nats-io/transport-node';

interface Announcement {
  id: string;
  kind: 'hello' | 'alive' | 'bye';
}

/**
 * Who is in a consumer group right now, learned over core NATS (nothing stored): every member
 * announces itself every `heartbeatMs`, answers a newcomer's hello at once and says bye when it
 * closes; a member not heard from for three heartbeats is gone. The view only decides how
 * partitions are shared; the records' compare-and-set keeps them safe when views disagree.
 */
export class GroupMembership {
  private readonly lastSeen = new Map<string, number>();
  private sub: CoreSubscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastView = '';

  constructor(
    private readonly nc: NatsConnection,
    private readonly subject: string,
    private readonly self: string,
    private readonly heartbeatMs: number,
    private readonly onChange: () => void,
  ) {}

  /** Starts listening and says hello; resolves once the hello reached the server. */
  async start(): Promise<void> {
    this.sub = this.nc.subscribe(this.subject, {
      callback: (err, msg) => {
        if (err) return;
        let a: Announcement;
        try {
          a = msg.json<Announcement>();
        } catch {
          return;
        }
        if (typeof a?.id !== 'string' || a.id === this.self) return;
        if (a.kind === 'bye') this.lastSeen.delete(a.id);
        else this.lastSeen.set(a.id, Date.now());
        if (a.kind === 'hello') this.announce('alive');
        this.check();
      },
    });
    this.announce('hello');
    this.timer = setInterval(() => {
      this.announce('alive');
      this.check();
    }, this.heartbeatMs);
    this.timer.unref();
    await this.nc.flush().catch(() => undefined);
  }

  /** Live member ids, this one included, sorted. */
  members(): string[] {
    const cutoff = Date.now() - 3 * this.heartbeatMs;
    const live = [this.self];
    for (const [id, at] of this.lastSeen) if (at >= cutoff) live.push(id);
    return live.sort();
  }

  /** Says bye and stops listening. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.announce('bye');
    this.sub?.unsubscribe();
    this.sub = undefined;
    await this.nc.flush().catch(() => undefined);
  }

  private announce(kind: Announcement['kind']): void {
    if (this.nc.isClosed()) return;
    try {
      this.nc.publish(this.subject, JSON.stringify({ id: this.self, kind } satisfies Announcement));
    } catch {
      // Reconnecting: the next heartbeat goes out when the connection is back.
    }
  }

  private check(): void {
    const view = this.members().join('\n');
    if (view !== this.lastView) {
      this.lastView = view;
      this.onChange();
    }
  }
}
