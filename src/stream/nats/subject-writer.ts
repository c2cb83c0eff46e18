import { headers } from '@nats-io/transport-node';
import type { OutgoingMessage } from '../port.ts';
import { readTail, type Tail } from './nats-catalog.ts';
import { isTransient, isWrongLastSequence, sleep, toStreamError, type NatsLink } from './nats-connection.ts';
import { cutRuns } from '../batching.ts';
import { BASE_HEADER, COUNT_HEADER, encodeEntries, PACK_HEADER, PACK_VERSION } from './nats-pack.ts';

/** Limits of the packs a writer builds. */
export interface PackLimits {
  /** Events per pack. */
  maxEvents: number;
  /** Estimated body bytes per pack (the server's max_payload is the hard limit). */
  maxBytes: number;
  /** The server's max_payload. */
  maxPayload: number;
  /** How long one pack may keep retrying through timeouts and reconnects. */
  publishTimeoutMs: number;
}

/** The largest body of a pack: the server's max_payload less room for the message's headers. */
export function maxBodyBytes(maxPayload: number): number {
  return maxPayload - 1024;
}

/**
 * Whether a pack of `m` alone fits under `maxPayload` (exactly as `encodeEntries([m])` measures it,
 * which is counted only for a message that might not fit).
 */
export function fitsAlone(m: OutgoingMessage, maxPayload: number): boolean {
  const max = maxBodyBytes(maxPayload);
  // The pack of one message: `{"lens":[n],"keys":[key]}`, a newline, the value; a key character is at most 6 bytes escaped.
  if (3 * m.value.length + 6 * m.key.length + 64 <= max) return true;
  return Buffer.byteLength(JSON.stringify({ lens: [m.value.length], keys: [m.key] })) + 1 + Buffer.byteLength(m.value) <= max;
}

/** A pack made by the caller: its body (see nats-pack.ts) and how many events it holds. */
export interface PackBody {
  body: Uint8Array;
  count: number;
}

interface Waiting {
  messages: OutgoingMessage[];
  /** Packs made by the caller, published as they are (then `messages` is empty). */
  packs?: readonly PackBody[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Appends to one partition subject. Offsets must follow on from the subject's last pack, so packs
 * of a subject go out one at a time, each a compare-and-set publish on the subject's last sequence
 * (`Nats-Expected-Last-Subject-Sequence`) carrying its base offset. Calls that arrive while a pack
 * is in flight are coalesced into the next pack (group commit), which is what makes small
 * concurrent publishes cheap. A `Nats-Msg-Id` per pack makes retries after a timeout or reconnect
 * idempotent; losing the compare-and-set to another producer re-reads the tail and tries again.
 */
export class SubjectWriter {
  private readonly queue: Waiting[] = [];
  private running = false;
  private tail: Tail | undefined;

  constructor(
    private readonly link: NatsLink,
    private readonly stream: string,
    private readonly subject: string,
    private readonly limits: PackLimits,
    /** Unique per pack across the stream's whole duplicate window (the server dedupes on it). */
    private readonly nextMsgId: () => string,
  ) {}

  /** Resolves once every message is stored (in order, after what earlier calls wrote). */
  write(messages: OutgoingMessage[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ messages, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  /**
   * Resolves once every pack is stored, in order, after what earlier calls wrote. The packs go out
   * as they are, not put together with other calls' messages.
   */
  writePacks(packs: readonly PackBody[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ messages: [], packs, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.takeBatch();
        try {
          const packs = batch[0]?.packs;
          if (packs) {
            for (const p of packs) await this.publishPack(p.body, p.count);
          } else {
            const all = batch.length === 1 ? (batch[0]?.messages ?? []) : batch.flatMap((w) => w.messages);
            for (const run of cutRuns(all, this.limits.maxEvents, this.limits.maxBytes)) await this.publishRun(run);
          }
          for (const w of batch) w.resolve();
        } catch (err) {
          this.tail = undefined;
          for (const w of batch) w.reject(err);
        }
      }
    } finally {
      this.running = false;
    }
  }

  /** Whole waiting calls up to one pack's worth (at least one call); a call of packs alone. */
  private takeBatch(): Waiting[] {
    const out: Waiting[] = [];
    let events = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (out.length > 0 && (next.packs !== undefined || out[0]!.packs !== undefined || events + next.messages.length > this.limits.maxEvents)) break;
      out.push(this.queue.shift()!);
      events += next.messages.length;
    }
    return out;
  }

  private async publishRun(run: OutgoingMessage[]): Promise<void> {
    const body = encodeEntries(run);
    if (body.length > maxBodyBytes(this.limits.maxPayload)) {
      // NatsStream.publish leaves out every message too large alone (see `fitsAlone`).
      if (run.length === 1) throw new Error(`a stream message of ${body.length} bytes is larger than the NATS server's max_payload (${this.limits.maxPayload})`);
      const half = Math.ceil(run.length / 2);
      await this.publishRun(run.slice(0, half));
      await this.publishRun(run.slice(half));
      return;
    }
    await this.publishPack(body, run.length);
  }

  private async publishPack(body: Uint8Array, count: number): Promise<void> {
    const deadline = Date.now() + this.limits.publishTimeoutMs;
    let conflicts = 0;
    let tail = this.tail ?? (await this.readTail(deadline));
    let msgId = this.nextMsgId();
    for (let attempt = 0; ; attempt++) {
      const h = headers();
      h.set(PACK_HEADER, PACK_VERSION);
      h.set(BASE_HEADER, String(tail.next));
      h.set(COUNT_HEADER, String(count));
      try {
        const ack = await this.link.js.publish(this.subject, body, { headers: h, msgID: msgId, expect: { lastSubjectSequence: tail.seq } });
        this.tail = { seq: ack.seq, next: tail.next + count, msgId };
        return;
      } catch (err) {
        if (isWrongLastSequence(err) && conflicts++ < 1000) {
          const fresh = await this.readTail(deadline);
          if (fresh.msgId === msgId) {
            // An earlier attempt of this very pack was stored (its acknowledgement was lost).
            this.tail = fresh;
            return;
          }
          tail = fresh;
          msgId = this.nextMsgId();
          continue;
        }
        if (isTransient(err) && Date.now() < deadline) {
          await sleep(Math.min(1000, 50 * 2 ** Math.min(attempt, 5)));
          continue;
        }
        throw toStreamError(err, `publishing to '${this.subject}'`);
      }
    }
  }

  private async readTail(deadline: number): Promise<Tail> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await readTail(this.link, this.stream, this.subject);
      } catch (err) {
        const cause = (err as { cause?: unknown }).cause ?? err;
        if (!isTransient(cause) || Date.now() >= deadline) throw err;
        await sleep(Math.min(1000, 50 * 2 ** Math.min(attempt, 5)));
      }
    }
  }
}
