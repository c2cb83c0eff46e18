/**
 * Child process for the cross-process stream test: subscribes to ('t', 'g') on the log at argv[2]
 * as owner 'child' with a lease of argv[3] ms, takes and acknowledges 3 messages, reports them,
 * then on the parent's 'exit' message dies without closing — a crashed consumer.
 */
import { SqliteStream } from './sqlite-stream.ts';

const [file, ttlText] = process.argv.slice(2);
if (!file || !ttlText) throw new Error('usage: subscriber.fixture.ts FILE LEASE_TTL_MS');
const stream = new SqliteStream({ file, ownerId: 'child', leaseTtlMs: Number(ttlText), renewIntervalMs: 0 });
const sub = await stream.subscribe('t', 'g');
const got = await sub.fetch(3, 1000);
await sub.ack(got);
process.on('message', (m) => {
  if (m === 'exit') process.exit(0);
});
process.send?.({ got: got.map((m) => m.value) });
