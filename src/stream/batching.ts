import type { OutgoingMessage } from './port.ts';

/** Bytes of a message in a batch, estimated from string lengths (exact for ASCII without escapes). */
export function estimateBytes(m: OutgoingMessage): number {
  return m.key.length + m.value.length + 6;
}

/**
 * Cuts messages into runs of at most `maxEvents` messages and about `maxBytes` estimated bytes,
 * keeping their order (a run always holds at least one message).
 */
export function cutRuns<T extends OutgoingMessage>(messages: readonly T[], maxEvents: number, maxBytes: number): T[][] {
  const runs: T[][] = [];
  let run: T[] = [];
  let bytes = 2;
  for (const m of messages) {
    const b = estimateBytes(m);
    if (run.length > 0 && (run.length >= maxEvents || bytes + b > maxBytes)) {
      runs.push(run);
      run = [];
      bytes = 2;
    }
    run.push(m);
    bytes += b;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/** Groups messages by `partitionOf(key)`, keeping their order within each partition. */
export function byPartition<T extends OutgoingMessage>(messages: readonly T[], partitionOf: (key: string) => number): Map<number, T[]> {
  const parts = new Map<number, T[]>();
  // Keys repeat (an endpoint's events): each is hashed once per call.
  const known = new Map<string, number>();
  for (const m of messages) {
    let p = known.get(m.key);
    if (p === undefined) {
      p = partitionOf(m.key);
      known.set(m.key, p);
    }
    const list = parts.get(p);
    if (list) list.push(m);
    else parts.set(p, [m]);
  }
  return parts;
}

/** Throws unless every message has a string key and a string value. */
export function checkMessages(topic: string, messages: unknown, fail: (message: string) => Error): asserts messages is OutgoingMessage[] {
  if (!Array.isArray(messages)) throw fail('stream messages must be an array');
  for (const m of messages as { key?: unknown; value?: unknown }[]) {
    if (typeof m?.key !== 'string' || typeof m.value !== 'string') throw fail(`stream messages need a string key and a string value (topic '${topic}')`);
  }
}
