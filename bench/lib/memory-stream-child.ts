/**
 * Child process of the `memory` benchmark, part (a): the stream processor of one project in a
 * process of its own (so that its RSS is its own), run by the same loop as a deployed worker.
 * Reports `{ processed, invalid }` to the parent over IPC every 250 ms; stops on SIGTERM or
 * when the parent goes away.
 *
 * `node --import tsx bench/lib/memory-stream-child.ts HOME STORE_URL STREAM_URL PROJECT`
 */
import { createLogger } from '../../src/common/logger.ts';
import { StreamProcessor } from '../../src/pipeline/stream-processor/stream-processor.ts';
import { runLoop } from '../../src/pipeline/worker.ts';
import { Platform } from '../../src/project/platform.ts';

const [home, storeUrl, streamUrl, project] = process.argv.slice(2);
if (!home || !storeUrl || !streamUrl || !project) {
  process.stderr.write('usage: memory-stream-child.ts HOME STORE_URL STREAM_URL PROJECT\n');
  process.exit(2);
}
const logger = createLogger('bench-stream', 'warn');
const platform = await Platform.open({ home, storeUrl, tsdbUrl: storeUrl, streamUrl, logger });
const sp = new StreamProcessor(platform, project);
const stop = new AbortController();
process.on('SIGTERM', () => stop.abort());
process.on('disconnect', () => stop.abort());
const report = (): void => {
  if (process.connected) process.send?.({ processed: sp.processedEvents, invalid: sp.invalidEvents });
};
const timer = setInterval(report, 250);
await runLoop(sp, stop.signal, logger, 20);
clearInterval(timer);
await sp.flush();
report();
await sp.close();
await platform.close();
process.exit(0);
