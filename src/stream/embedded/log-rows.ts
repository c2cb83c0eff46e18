import { byPartition } from '../batching.ts';
import { encodePacks } from '../pack.ts';
import { partitionFor } from '../partition.ts';
import type { OutgoingMessage } from '../port.ts';
import type { AppendRow } from './log-db.ts';

/** The rows a publish of `messages` appends to a log of `partitions`: its packs, per partition in order. */
export function packRows(messages: readonly OutgoingMessage[], partitions: number): AppendRow[] {
  const parts = partitions === 1 ? new Map([[0, messages]]) : byPartition(messages, (key) => partitionFor(key, partitions));
  const rows: AppendRow[] = [];
  for (const [partition, list] of parts) for (const row of encodePacks(list)) rows.push({ ...row, partition });
  return rows;
}
