/**
 * Child process for the writer-thread exit test: publishes 1,000 events to the log at argv[2] and
 * ends without closing the stream — the process must stay alive until they are written, then exit.
 */
import { SqliteStream } from './sqlite-stream.ts';

const file = process.argv[2];
if (!file) throw new Error('usage: publisher.fixture.ts FILE');
const stream = new SqliteStream({ file });
// The publish goes to the writer thread (until it runs, a publish is written on this thread).
if (!(await stream.writerThreadStarted())) throw new Error('the writer thread did not start');
await stream.publish('t', Array.from({ length: 1000 }, (_, i) => ({ key: `k${i % 7}`, value: `e${i}` })));
console.log('published');
