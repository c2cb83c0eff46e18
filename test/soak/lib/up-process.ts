/** `modelwatch up` as its own process, as an operator runs it: its output kept line by line. */
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI, childEnv } from '../../server/helpers.ts';

/** A running `modelwatch up`. */
export class UpProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    /** Every line it (and the workers it supervises) printed, stdout and stderr, as they come. */
    readonly lines: string[],
  ) {}

  /**
   * Starts `modelwatch up --port PORT` with `args` and `env` (connection URLs go in the environment,
   * as they should) and waits until it says where it is up.
   */
  static async start(port: number, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<UpProcess> {
    const child = spawn(process.execPath, [...CLI, 'up', '--port', String(port), ...args], { cwd, env: childEnv({ MODELWATCH_LOG_LEVEL: 'info', ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`modelwatch up did not start:\n${lines.join('\n')}`)), 60_000);
      const onLine = (line: string) => {
        lines.push(line);
        const m = /modelwatch is up at (http:\/\/\S+)/.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      };
      for (const s of [child.stdout!, child.stderr!]) {
        let rest = '';
        s.setEncoding('utf8');
        s.on('data', (d: string) => {
          const parts = (rest + d).split('\n');
          rest = parts.pop()!;
          for (const p of parts) onLine(p);
        });
      }
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`modelwatch up exited with ${String(code)}:\n${lines.join('\n')}`));
      });
    });
    return new UpProcess(child, url, lines);
  }

  /** Its process id (its workers are its children). */
  get pid(): number {
    return this.child.pid!;
  }

  /** Stops it with SIGTERM (it stops its workers) and waits for it to exit. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    const killer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(killer);
  }
}
