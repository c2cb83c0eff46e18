import { redactSecrets } from '../common/redact.ts';
import { ValidationError } from '../common/errors.ts';

/** What a connection URL is for. */
export type ConnectionRole = 'store' | 'tsdb' | 'stream';

/** A connection URL taken apart. */
export interface ParsedConnectionUrl {
  /** Normalised scheme: `sqlite`, `postgres`, `mysql`, `embedded`, `nats` or `kafka`. */
  scheme: string;
  /** True when this build has the backend; false for backends still to come. */
  available: boolean;
  /** File path of file-based backends, as written (relative paths not yet resolved); absent for the default location. */
  path?: string;
}

interface SchemeInfo {
  scheme: string;
  roles: readonly ConnectionRole[];
  available: boolean;
  file: boolean;
}

const SQL: readonly ConnectionRole[] = ['store', 'tsdb'];
const SCHEMES: Record<string, SchemeInfo> = {
  sqlite: { scheme: 'sqlite', roles: ['store', 'tsdb', 'stream'], available: true, file: true },
  embedded: { scheme: 'embedded', roles: ['stream'], available: true, file: true },
  postgres: { scheme: 'postgres', roles: SQL, available: true, file: false },
  postgresql: { scheme: 'postgres', roles: SQL, available: true, file: false },
  mysql: { scheme: 'mysql', roles: SQL, available: true, file: false },
  mariadb: { scheme: 'mysql', roles: SQL, available: true, file: false },
  nats: { scheme: 'nats', roles: ['stream'], available: true, file: false },
  kafka: { scheme: 'kafka', roles: ['stream'], available: true, file: false },
};

const EXAMPLES: Record<ConnectionRole, string> = {
  store: 'sqlite:///path/to/file.db, postgres://user@host/db or mysql://user@host/db',
  tsdb: 'sqlite:///path/to/file.db, postgres://user@host/db or mysql://user@host/db',
  stream: 'embedded://, sqlite:///path/to/stream.db, nats://host:4222 or kafka://host:9092',
};

/**
 * Checks a connection URL for `what` and names its backend. SQLite takes `sqlite:///abs/path.db`,
 * `sqlite:relative.db`, `sqlite::memory:` or a plain file path; the stream also takes `embedded://`
 * (default file) or `embedded:///path`, and an empty string for the default.
 * @throws ValidationError for malformed URLs and schemes that cannot serve `what`.
 */
export function parseConnectionUrl(url: string, what: ConnectionRole): ParsedConnectionUrl {
  if (typeof url !== 'string') throw new ValidationError(`the ${what} connection must be a string`);
  const text = url.trim();
  if (text === '') {
    if (what === 'stream') return { scheme: 'embedded', available: true };
    throw new ValidationError(`the ${what} connection URL is empty; use ${EXAMPLES[what]}`);
  }
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]+):(.*)$/s.exec(text);
  // No scheme (a one-letter "scheme" is a Windows drive): a file path for a SQLite database —
  // unless it reads as libpq's keyword=value form, whose password would become a file name.
  if (!m && /(?:^|\s)(?:host|hostaddr|port|dbname|user|password|sslmode|service)\s*=/i.test(text)) {
    throw new ValidationError(`'${redactSecrets(text)}' is a keyword=value connection string; give a URL instead, as in postgres://user:password@host:5432/db`);
  }
  if (!m) return { scheme: 'sqlite', available: true, path: text };
  const name = (m[1] ?? '').toLowerCase();
  const rest = m[2] ?? '';
  const info = SCHEMES[name];
  if (!info) {
    throw new ValidationError(`unknown ${what} connection scheme '${name}:' in '${redactSecrets(text)}'; use ${EXAMPLES[what]}`, { scheme: name });
  }
  if (!info.roles.includes(what)) {
    throw new ValidationError(`the '${name}:' scheme cannot hold the ${what}; use ${EXAMPLES[what]}`, { scheme: name });
  }
  if (info.file) {
    const filePath = rest.startsWith('//') ? rest.slice(2) : rest;
    if (/[?#]/.test(filePath)) {
      throw new ValidationError(`'${redactSecrets(text)}': query options are not supported in a ${info.scheme} URL`);
    }
    if (filePath === '') {
      if (info.scheme === 'embedded') return { scheme: 'embedded', available: true };
      throw new ValidationError(`'${text}' names no database file; use ${EXAMPLES[what]}`);
    }
    return { scheme: info.scheme, available: true, path: filePath };
  }
  const authority = /^\/\/([^/?#]*)/.exec(rest)?.[1] ?? '';
  const hosts = authority.slice(authority.lastIndexOf('@') + 1);
  if (hosts === '' || /\s/.test(hosts) || hosts.startsWith(':')) {
    throw new ValidationError(`'${redactSecrets(text)}' is not a valid ${name} URL: it needs a host, as in ${name}://host`, {
      scheme: info.scheme,
    });
  }
  return { scheme: info.scheme, available: info.available };
}
