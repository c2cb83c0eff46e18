import { ValidationError } from '../../common/errors.ts';
import { redactSecrets } from '../../common/redact.ts';
import { wholeNumberOption } from '../url-options.ts';

/** What a `nats://` stream URL says. */
export interface NatsUrl {
  /** `host:port` of each seed server. */
  servers: string[];
  user?: string;
  pass?: string;
  token?: string;
  /** Partitions asked for (`?partitions=N`); absent means the count recorded on the stream, else the default. */
  partitions?: number;
  /** Optional extra subject token and stream-name part that keeps several deployments (or tests) apart. */
  namespace?: string;
  /** JetStream replicas of the streams created. @default 1 */
  replicas: number;
}

const TOKEN = /^[A-Za-z0-9_-]{1,32}$/;

/**
 * Parses `nats://[user:pass@|token@]host[:port][,host[:port]...][?partitions=N&namespace=NAME&replicas=R]`.
 * The port defaults to 4222.
 * @throws ValidationError for anything else.
 */
export function parseNatsUrl(url: string): NatsUrl {
  const m = /^nats:\/\/(?:([^@/?#]*)@)?([^/?#]+)\/?(?:\?([^#]*))?$/i.exec(url.trim());
  if (!m) throw new ValidationError(`'${redactSecrets(url)}' is not a NATS URL; use nats://host:4222[?partitions=N]`);
  const [, userinfo, hostList = '', query = ''] = m;
  const servers = hostList.split(',').map((h) => h.trim());
  for (const h of servers) {
    if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(:\d{1,5})?$/.test(h)) {
      throw new ValidationError(hostMessage(url, h));
    }
  }
  const out: NatsUrl = { servers: servers.map((h) => (/:\d+$/.test(h) ? h : `${h}:4222`)), replicas: 1 };
  if (userinfo) {
    const i = userinfo.indexOf(':');
    if (i < 0) out.token = decodeURIComponent(userinfo);
    else {
      out.user = decodeURIComponent(userinfo.slice(0, i));
      out.pass = decodeURIComponent(userinfo.slice(i + 1));
    }
  }
  for (const [k, v] of new URLSearchParams(query)) {
    if (k === 'partitions') out.partitions = wholeNumberOption(url, k, v, 1, 4096);
    else if (k === 'replicas') out.replicas = wholeNumberOption(url, k, v, 1, 5);
    else if (k === 'namespace') {
      if (!TOKEN.test(v)) throw new ValidationError(`'${redactSecrets(url)}': namespace must be 1-32 letters, digits, '_' or '-'`);
      out.namespace = v;
    } else {
      throw new ValidationError(`'${redactSecrets(url)}': unknown option '${k}'; NATS stream URLs take partitions, namespace and replicas`);
    }
  }
  return out;
}

/** Names a bad host without what may be a password in it: a second user part (`u2:pw@h2`) is refused, not shown. */
function hostMessage(url: string, h: string): string {
  if (h.includes('@')) return `'${redactSecrets(url)}': a user and password go once, before the first host`;
  return `'${redactSecrets(url)}': '${h}' is not a host[:port]`;
}
