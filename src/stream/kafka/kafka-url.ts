import { ValidationError } from '../../common/errors.ts';
import { redactSecrets } from '../../common/redact.ts';
import { wholeNumberOption } from '../url-options.ts';

/** What a `kafka://` stream URL says. */
export interface KafkaUrl {
  /** `host:port` of each seed broker. */
  brokers: string[];
  /** Partitions of topics this client creates (`?partitions=N`); existing topics keep theirs. */
  partitions?: number;
  /** Replication factor of topics this client creates. @default 1 */
  replication: number;
  clientId: string;
  /** Prefix of every topic and group name (keeps deployments or tests apart). */
  namespace?: string;
  ssl: boolean;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
}

const SASL = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;

/**
 * Parses `kafka://[user:pass@]host[:port][,host[:port]...][?partitions=N&replication=R&clientId=ID&namespace=NAME&ssl=true&sasl=plain|scram-sha-256|scram-sha-512]`.
 * The port defaults to 9092; credentials turn SASL on (PLAIN unless `sasl=` says otherwise).
 * @throws ValidationError for anything else.
 */
export function parseKafkaUrl(url: string): KafkaUrl {
  const m = /^kafka:\/\/(?:([^@/?#]*)@)?([^/?#]+)\/?(?:\?([^#]*))?$/i.exec(url.trim());
  if (!m) throw new ValidationError(`'${redactSecrets(url)}' is not a Kafka URL; use kafka://host:9092[,host:9092][?partitions=N]`);
  const [, userinfo, hostList = '', query = ''] = m;
  const brokers = hostList.split(',').map((h) => h.trim());
  for (const h of brokers) {
    if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(:\d{1,5})?$/.test(h)) throw new ValidationError(hostMessage(url, h));
  }
  const out: KafkaUrl = { brokers: brokers.map((h) => (/:\d+$/.test(h) ? h : `${h}:9092`)), replication: 1, clientId: 'modelwatch', ssl: false };
  let mechanism: (typeof SASL)[number] = 'plain';
  for (const [k, v] of new URLSearchParams(query)) {
    if (k === 'partitions') out.partitions = wholeNumberOption(url, k, v, 1, 10_000);
    else if (k === 'replication') out.replication = wholeNumberOption(url, k, v, 1, 32);
    else if (k === 'clientId') {
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(v)) throw new ValidationError(`'${redactSecrets(url)}': clientId must be 1-64 letters, digits, '.', '_' or '-'`);
      out.clientId = v;
    } else if (k === 'namespace') {
      if (!/^[A-Za-z0-9_-]{1,32}$/.test(v)) throw new ValidationError(`'${redactSecrets(url)}': namespace must be 1-32 letters, digits, '_' or '-'`);
      out.namespace = v;
    } else if (k === 'ssl') out.ssl = v === 'true' || v === '1';
    else if (k === 'sasl') {
      if (!(SASL as readonly string[]).includes(v)) throw new ValidationError(`'${redactSecrets(url)}': sasl must be one of ${SASL.join(', ')}`);
      mechanism = v as (typeof SASL)[number];
    } else {
      throw new ValidationError(`'${redactSecrets(url)}': unknown option '${k}'; Kafka stream URLs take partitions, replication, clientId, namespace, ssl and sasl`);
    }
  }
  if (userinfo) {
    const i = userinfo.indexOf(':');
    if (i < 0) throw new ValidationError(`'${redactSecrets(url)}': Kafka credentials are user:password`);
    out.sasl = { mechanism, username: decodeURIComponent(userinfo.slice(0, i)), password: decodeURIComponent(userinfo.slice(i + 1)) };
  }
  return out;
}

/** Names a bad host without what may be a password in it: a second user part (`u2:pw@h2`) is refused, not shown. */
function hostMessage(url: string, h: string): string {
  if (h.includes('@')) return `'${redactSecrets(url)}': a user and password go once, before the first host`;
  return `'${redactSecrets(url)}': '${h}' is not a host[:port]`;
}
