import { ValidationError } from '../common/errors.ts';
import { redactSecrets } from '../common/redact.ts';

/**
 * The whole number `text` of query option `key` in stream URL `url`, within [min, max].
 * @throws ValidationError naming the option and the (redacted) URL otherwise.
 */
export function wholeNumberOption(url: string, key: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) {
    throw new ValidationError(`'${redactSecrets(url)}': ${key} must be a whole number from ${min} to ${max}, got '${text}'`);
  }
  return n;
}
