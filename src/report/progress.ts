/**
 * Progress of a long report on stderr: a cli-progress bar when stderr is a terminal, plain
 * lines (every 10%) otherwise, so logs of CI jobs stay readable.
 */
import cliProgress from 'cli-progress';

/** A progress sink for one task at a time. */
export interface Progress {
  /** Starts a task of `total` units (bytes, columns). */
  start(task: string, total: number): void;
  update(done: number): void;
  /** Ends the current task. */
  stop(): void;
}

/** Writes nothing. */
export const NO_PROGRESS: Progress = { start: () => undefined, update: () => undefined, stop: () => undefined };

/** A progress sink on `stream` (default stderr): a bar on a TTY, plain lines otherwise. */
export function stderrProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  return stream.isTTY ? barProgress(stream) : lineProgress(stream);
}

function barProgress(stream: NodeJS.WriteStream): Progress {
  const bar = new cliProgress.SingleBar(
    { stream, format: '{task} [{bar}] {percentage}% | {value}/{total}', hideCursor: true, clearOnComplete: false, fps: 5 },
    cliProgress.Presets.shades_classic,
  );
  let running = false;
  return {
    start(task, total) {
      if (running) bar.stop();
      bar.start(total, 0, { task: task.padEnd(18) });
      running = true;
    },
    update(done) {
      if (running) bar.update(done);
    },
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}

function lineProgress(stream: NodeJS.WriteStream): Progress {
  let task = '';
  let total = 0;
  let lastStep = -1;
  return {
    start(t, n) {
      task = t;
      total = n;
      lastStep = -1;
    },
    update(done) {
      const step = total === 0 ? 4 : Math.floor((done / total) * 4);
      if (step > lastStep) {
        lastStep = step;
        stream.write(`${task}: ${step * 25}%\n`);
      }
    },
    stop() {
      if (lastStep < 4) stream.write(`${task}: 100%\n`);
      lastStep = 4;
    },
  };
}
