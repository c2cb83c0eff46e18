/*
 * One redaction for every text that may carry a secret on its way to a reader: read APIs, CLI
 * output, error messages and log lines. It errs on the side of hiding too much: a password that
 * breaks a URL's syntax (a raw `@`, a comma) must not leak just because the URL is malformed.
 */

/** What a hidden secret is replaced with. */
export const MASK = '***';

/** A whole text that is one URL (a credential field): its user part may hold anything but a line break. */
const WHOLE_URL_RE = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^\n]*)$/;
/** `scheme://rest` within free text: the rest runs to whitespace, a double quote or a bracket (a JSON string's `\"` included). */
const URL_RE = /\b([a-zA-Z][a-zA-Z0-9+.-]*):\/\/((?:\\.|[^\s"`<>\\])*)/g;
/** Schemes whose user part alone (`nats://tok3n@host`) is a secret: a token, or a malformed `user:password`. */
const USER_IS_SECRET = new Set(['nats', 'tls', 'kafka']);
/** Schemes that list several hosts, each of which may carry a user part. */
const MULTI_HOST = new Set(['nats', 'tls', 'kafka']);
/** Names of keys whose value is secret: `password`, `sslpassword`, `apiKey`, `access_token`, ... */
// Bounded, so that a long word (a base64 blob in a log line) costs linear time, not quadratic.
const SECRET_KEY = String.raw`[A-Za-z0-9_.-]{0,64}(?:pass|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|sslkey|credential)[A-Za-z0-9_.-]{0,64}`;
/** A query parameter `?password=x&...`: the value runs to `&` or `#`. */
const QUERY_RE = new RegExp(String.raw`([?&;]${SECRET_KEY}=)[^&#\s"']*`, 'gi');
/** A keyword/value pair: libpq's `password=x` or `password='a b\'c'`, or `Password=x;` (the value runs to whitespace). */
const KEYWORD_RE = new RegExp(String.raw`((?:^|[\s,;:{("'])${SECRET_KEY}\s*=\s*)(?:'(?:\\.|[^'\\])*'?|(?:\\.|[^\s"\\])*)`, 'gi');
/** A modelwatch API token: its id stays visible (it names the token), the secret part does not. */
const API_TOKEN_RE = /\b(mwt_[0-9a-f]{16}_)[A-Za-z0-9_-]+/g;

/**
 * Hides the secrets in `text` — a connection URL, a libpq connection string, a message or a log
 * line — wherever they stand in it:
 * - the password of every `scheme://user:password@host` URL; the whole user part when it is a
 *   token (`nats://tok3n@host`); the user part runs to the last `@`, so that a raw `@` in a
 *   password and the user part of a second host (`nats://a:1@h1,u2:p@h2` → `nats://***@h2`) are
 *   hidden too;
 * - query parameters and libpq `keyword=value` pairs whose keyword speaks of a password, token,
 *   secret or key (`host=db password='s 3'` → `host=db password=***`);
 * - modelwatch API tokens (`mwt_<id>_<secret>` → `mwt_<id>_***`).
 */
export function redactSecrets(text: string): string {
  if (typeof text !== 'string' || text === '') return text;
  const url = (_m: string, scheme: string, rest: string): string => `${scheme}://${redactAuthority(scheme.toLowerCase(), rest)}`;
  let out = WHOLE_URL_RE.test(text) ? text.replace(WHOLE_URL_RE, url) : text.replace(URL_RE, url);
  out = out.replace(QUERY_RE, `$1${MASK}`);
  out = out.replace(KEYWORD_RE, `$1${MASK}`);
  out = out.replace(API_TOKEN_RE, `$1${MASK}`);
  return out;
}

/**
 * `rest` is what follows `scheme://`. Everything up to its last `@` is user information (so a raw
 * `@` in a password stays inside it). In a multi-host URL with several `@` (a user part per host,
 * as in `nats://a:1@h1,u2:p@h2`) there is no telling password from host: all of it is hidden.
 */
function redactAuthority(scheme: string, rest: string): string {
  const at = rest.lastIndexOf('@');
  if (at < 0) return rest;
  const userinfo = rest.slice(0, at);
  return `${userinfo.includes('@') && MULTI_HOST.has(scheme) ? MASK : redactUser(scheme, userinfo)}${rest.slice(at)}`;
}

/** `user:password` → `user:***`; a user alone stays unless the scheme takes it as a token. */
function redactUser(scheme: string, userinfo: string): string {
  const colon = userinfo.indexOf(':');
  if (colon >= 0) return `${userinfo.slice(0, colon)}:${MASK}`;
  return USER_IS_SECRET.has(scheme) ? MASK : userinfo;
}
