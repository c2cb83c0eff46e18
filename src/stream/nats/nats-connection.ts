import { jetstream, jetstreamManager, JetStreamApiError, type JetStreamClient, type JetStreamManager, type StoredMsg } from '@nats-io/jetstream';
import {
  connect,
  ConnectionError,
  NoRespondersError,
  RequestError,
  TimeoutError,
  type NatsConnection,
} from '@nats-io/transport-node';
import { errorMessage, ModelwatchError } from '../../common/errors.ts';
import { StreamUnavailableError } from '../errors.ts';
import type { NatsUrl } from './nats-url.ts';

/** One NATS connection with its JetStream client and manager. */
export interface NatsLink {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
}

/** Connection settings beyond the URL. */
export interface NatsLinkOptions {
  /** Time allowed for the first connection. @default 5000 */
  connectTimeoutMs?: number;
  /** Time allowed for one JetStream API call or publish acknowledgement. @default 5000 */
  apiTimeoutMs?: number;
}

/**
 * Connects to the servers of `url`. After the first connection the client reconnects for ever
 * (every 250 ms, with jitter); calls made while it is away are retried by the callers.
 * @throws StreamUnavailableError when no server answers.
 */
export async function openNatsLink(url: NatsUrl, opts: NatsLinkOptions = {}): Promise<NatsLink> {
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: url.servers,
      ...(url.user !== undefined ? { user: url.user, pass: url.pass ?? '' } : {}),
      ...(url.token !== undefined ? { token: url.token } : {}),
      name: 'modelwatch',
      timeout: opts.connectTimeoutMs ?? 5000,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      reconnectJitter: 100,
      pingInterval: 10_000,
      // No stack captured up front for every request (a RequestError and a TimeoutError per publish
      // acknowledgement): a large share of a producer's CPU. Errors keep their messages.
      noAsyncTraces: true,
    });
  } catch (err) {
    throw new StreamUnavailableError('nats', `cannot connect to ${url.servers.join(',')}: ${errorMessage(err)}`, err);
  }
  const timeout = opts.apiTimeoutMs ?? 5000;
  try {
    const jsm = await jetstreamManager(nc, { timeout });
    return { nc, js: jetstream(nc, { timeout }), jsm };
  } catch (err) {
    await nc.close().catch(() => undefined);
    throw new StreamUnavailableError('nats', `JetStream is not enabled on ${url.servers.join(',')} (start nats-server with -js): ${errorMessage(err)}`, err);
  }
}

/** JetStream API error code of `err`, if it is one. */
export function apiErrorCode(err: unknown): number | undefined {
  return err instanceof JetStreamApiError ? err.code : undefined;
}

/** A compare-and-set publish lost: the subject's last sequence was not the one expected. */
export function isWrongLastSequence(err: unknown): boolean {
  const code = apiErrorCode(err);
  return code === 10071 || code === 10164;
}

/** Timeouts, missing responders and lost connections: worth trying again once the server is back. */
export function isTransient(err: unknown): boolean {
  if (err instanceof TimeoutError || err instanceof NoRespondersError || err instanceof ConnectionError) return true;
  if (err instanceof RequestError) return true;
  if (err instanceof JetStreamApiError) return err.status === 503 || err.status === 408;
  const name = err instanceof Error ? err.name : '';
  return name === 'TimeoutError' || name === 'NoRespondersError';
}

/** Wraps a driver error in a typed modelwatch error (typed errors pass through). */
export function toStreamError(err: unknown, what: string): Error {
  if (err instanceof ModelwatchError) return err;
  return new StreamUnavailableError('nats', `${what}: ${errorMessage(err)}`, err);
}

/**
 * A stored message of `stream`: by sequence, the last of a subject, or (`seq` with `next_by_subj`,
 * a field of the server's message-get request since 2.9 that the client's type leaves out) the
 * subject's first at or after a sequence. null when there is none; `doing` names the read in errors.
 */
export async function getStoredMessage(
  link: NatsLink,
  stream: string,
  query: { seq: number; next_by_subj: string } | { last_by_subj: string },
  doing: string,
): Promise<StoredMsg | null> {
  try {
    return await link.jsm.streams.getMessage(stream, query as { last_by_subj: string });
  } catch (err) {
    if (apiErrorCode(err) === 10037) return null; // no message found
    throw toStreamError(err, doing);
  }
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
