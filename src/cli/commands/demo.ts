import type { Command } from 'commander';
import { globalOptions } from '../context.ts';
import { wholeNumber } from '../parse.ts';

/** `demo`: the seed flow on a real data set (see src/demo/main.ts). */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run the seed flow on the Seattle weather data: train, log, serve with tracking, shift the traffic, show drift per window')
    .option('--requests-per-window <n>', 'requests sent per window', wholeNumber)
    .action(async (o: { requestsPerWindow?: number }, cmd: Command) => {
      const g = globalOptions(cmd);
      if (g.url) throw new Error('the demo runs embedded; it takes --home and the backend URLs, not --url');
      const { runDemo } = await import('../../demo/main.ts');
      await runDemo({
        ...(g.home ? { home: g.home } : {}),
        ...(g.storeUrl ? { storeUrl: g.storeUrl } : {}),
        ...(g.tsdbUrl ? { tsdbUrl: g.tsdbUrl } : {}),
        ...(g.streamUrl ? { streamUrl: g.streamUrl } : {}),
        ...(o.requestsPerWindow ? { requestsPerWindow: o.requestsPerWindow } : {}),
      });
    });
}
