/** A command line that does not make sense (exit code 2, like commander's own usage errors). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
