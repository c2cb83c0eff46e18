import readline from 'node:readline';
import type { Readable } from 'node:stream';
import { redactSecrets } from '../common/redact.ts';

/** The last lines a child wrote to stderr: the `lastError` recorded when it crashes. */
export class LineTail {
  private readonly buf: string[] = [];

  constructor(private readonly max: number) {}

  push(line: string): void {
    // Connection URLs in stack traces must not reach the store, where any API reader sees them.
    this.buf.push(redactSecrets(line).slice(0, 2000));
    if (this.buf.length > this.max) this.buf.shift();
  }

  lines(): string[] {
    return [...this.buf];
  }
}

/** Calls `onLine` for every line of a child's output stream. */
export function forwardLines(stream: Readable | null, onLine: (line: string) => void): void {
  if (!stream) return;
  const rl = readline.createInterface({ input: stream, crlfDelay: Infinity });
  rl.on('line', (line) => {
    if (line.trim()) onLine(line);
  });
}
