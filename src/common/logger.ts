import { pino, type Logger } from 'pino';
import { ValidationError } from './errors.ts';
import { redactSecrets } from './redact.ts';

export type { Logger };

/** The levels a logger takes, quietest last. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * The platform logger: JSON lines on stderr, so that a program's own output on stdout stays its
 * own (SDK scripts, `--json` commands). Level: `level`, else `MODELWATCH_LOG_LEVEL`, else `silent`
 * under the test runner, else `warn`. Every line is redacted as it is written (see
 * {@link redactSecrets}): a connection URL or token that reaches a message or a field never
 * reaches the log.
 */
export function createLogger(name = 'modelwatch', level?: string): Logger {
  const chosen = level ?? process.env.MODELWATCH_LOG_LEVEL ?? (process.env.NODE_TEST_CONTEXT ? 'silent' : 'warn');
  if (!(LOG_LEVELS as readonly string[]).includes(chosen)) {
    throw new ValidationError(`log level '${chosen}' is not one of ${LOG_LEVELS.join(', ')}${level === undefined ? ' (from MODELWATCH_LOG_LEVEL)' : ''}`);
  }
  return pino({ name, level: chosen, hooks: { streamWrite: redactSecrets } }, pino.destination({ fd: 2, sync: true }));
}

/**
 * A warning repeated while something keeps failing, such as a retry loop's: logged the first
 * time, then at most once per interval — 1 s, doubling while the failure lasts, up to `maxMs` —
 * each line telling how many failures were left out since the one before. {@link recovered}
 * ends the run, with one line if any warning was logged.
 */
export class RepeatedWarning {
  private failures = 0;
  private leftOut = 0;
  private intervalMs = 0;
  private nextAtMs = 0;

  constructor(
    private readonly logger: Logger,
    private readonly message: string,
    private readonly opts: { firstIntervalMs?: number; maxIntervalMs?: number; now?: () => number } = {},
  ) {}

  /** One more failure; logged with `fields` when its interval has passed. */
  warn(fields: Record<string, unknown>): void {
    const now = (this.opts.now ?? Date.now)();
    this.failures++;
    if (this.failures > 1 && now < this.nextAtMs) {
      this.leftOut++;
      return;
    }
    this.logger.warn({ ...fields, failures: this.failures, ...(this.leftOut ? { notLogged: this.leftOut } : {}) }, this.message);
    this.leftOut = 0;
    this.intervalMs = this.failures === 1 ? (this.opts.firstIntervalMs ?? 1000) : Math.min(this.intervalMs * 2, this.opts.maxIntervalMs ?? 300_000);
    this.nextAtMs = now + this.intervalMs;
  }

  /** The failure is over: says so (when it was logged) and starts afresh. */
  recovered(fields: Record<string, unknown> = {}): void {
    if (this.failures > 0) this.logger.info({ ...fields, failures: this.failures }, `${this.message}: recovered`);
    this.failures = 0;
    this.leftOut = 0;
  }
}
