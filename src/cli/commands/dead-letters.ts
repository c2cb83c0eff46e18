import type { Command } from 'commander';
import { withProject } from '../context.ts';
import { printJson, printTable, time } from '../output.ts';
import { timeArg, wholeNumber } from '../parse.ts';

/** Characters of an event's text the table shows (`--json` prints it whole, as stored). */
const EVENT_PREVIEW_CHARS = 120;

/** `dead-letters`: the events the stream processor did not store, and why. */
export function registerDeadLetterCommand(program: Command): void {
  program
    .command('dead-letters')
    .description('events the stream processor did not store (refused, or failing to store on their own), with the reason; newest first')
    .requiredOption('--project <name>', 'project')
    .option('--endpoint <id>', 'only those naming this model endpoint')
    .option('--since <time>', 'dead-lettered at or after (ISO-8601 or epoch ms)', timeArg)
    .option('--limit <n>', 'at most this many', wholeNumber)
    .option('--json', 'print JSON (the stored event text whole)')
    .action(async (o: { endpoint?: string; since?: number; limit?: number; json?: boolean }, cmd: Command) => {
      await withProject(cmd, async (project) => {
        const letters = await project.listDeadLetters({
          ...(o.endpoint !== undefined ? { endpointId: o.endpoint } : {}),
          ...(o.since !== undefined ? { since: o.since } : {}),
          ...(o.limit !== undefined ? { limit: o.limit } : {}),
        });
        if (o.json) return printJson(letters);
        printTable(letters, [
          { header: 'time', get: (d) => time(d.time) },
          { header: 'endpoint', get: (d) => (d.endpointId === null ? null : printable(d.endpointId, 12)) },
          { header: 'request', get: (d) => (d.requestId === null ? null : printable(d.requestId, 24)) },
          { header: 'offset', get: (d) => `${d.partition}:${d.offset}` },
          { header: 'reason', get: (d) => printable(d.reason, 200) },
          { header: 'event', get: (d) => `${printable(d.event, EVENT_PREVIEW_CHARS)}${d.eventChars > EVENT_PREVIEW_CHARS ? ` … (${d.eventChars} chars)` : ''}` },
        ], '(no dead letters)');
      });
    });
}

/** Text from an event, cut and with its control characters escaped: a table line that no event can break or turn into terminal commands. */
function printable(s: string, max: number): string {
  return JSON.stringify(s.slice(0, max)).slice(1, -1).replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
