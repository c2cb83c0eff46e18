import { byPartition } from '../batching.ts';
import { cutPacks, encodePack } from '../pack.ts';
import { partitionFor } from '../partition.ts';
import type { OutgoingMessage } from '../port.ts';
import type { AppendRow } from './log-db.ts';

/** The rows a publish of `messages` appends to a log of `partitions`: its packs, per partition in order. */
export function packRows(messages: readonly OutgoingMessage[], partitions: number): AppendRow[] {
  const parts = partitions === 1 ? new Map([[0, messages]]) : byPartition(messages, (key) => partitionFor(key, partitions));
  const rows: AppendRow[] = [];
  for (const [partition, list] of parts) for (const run of cutPacks(list)) rows.push({ ...encodePack(run), partition });
  return rows;
}

/**
 * A publish's messages on their way to the log writer thread, which packs them: each distinct key
 * once, and the values joined with their lengths (a structured clone of one string and two typed
 * arrays, where an array of message objects would be cloned object by object).
 */
export interface PostedMessages {
  keys: string[];
  /** Index into `keys` of each message's key. */
  ki: Int32Array;
  text: string;
  lens: Int32Array;
}

export function postMessages(messages: readonly OutgoingMessage[]): PostedMessages {
  const keys: string[] = [];
  const index = new Map<string, number>();
  const ki = new Int32Array(messages.length);
  const lens = new Int32Array(messages.length);
  const values = new Array<string>(messages.length);
  let last = '';
  let k = -1;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    if (k < 0 || m.key !== last) {
      const known = index.get(m.key);
      k = known ?? keys.push(m.key) - 1;
      if (known === undefined) index.set(m.key, k);
      last = m.key;
    }
    ki[i] = k;
    lens[i] = m.value.length;
    values[i] = m.value;
  }
  return { keys, ki, text: values.join(''), lens };
}

/**
 * The messages again.
 * @throws when the parts do not add up (a message that is not posted messages)
 */
export function receivedMessages(p: PostedMessages): OutgoingMessage[] {
  if (p.ki.length !== p.lens.length) throw new Error('posted messages: keys and lengths differ in number');
  const out = new Array<OutgoingMessage>(p.lens.length);
  let pos = 0;
  for (let i = 0; i < p.lens.length; i++) {
    const key = p.keys[p.ki[i]!];
    if (key === undefined) throw new Error(`posted messages: message ${i} names no key`);
    out[i] = { key, value: p.text.slice(pos, pos + p.lens[i]!) };
    pos += p.lens[i]!;
  }
  if (pos !== p.text.length) throw new Error(`posted messages: ${p.text.length - pos} characters left over`);
  return out;
}
