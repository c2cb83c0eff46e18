/** The NATS JetStream server of the backend tests: reachability, namespaces of their own, clean-up. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { skipUnlessRequired } from './servers.ts';

/** `host:port` of the NATS JetStream server the backend tests use: MODELWATCH_TEST_NATS or 127.0.0.1:4222. */
export const NATS_SERVER = process.env.MODELWATCH_TEST_NATS ?? '127.0.0.1:4222';

/**
 * Why no NATS server can be used (nothing accepts a connection at {@link NATS_SERVER}), or
 * undefined when one answers. The caller reports the reason as a skip, never as a pass.
 * @throws Error instead when MODELWATCH_TEST_REQUIRE_SERVERS is set (CI)
 */
export async function natsUnavailableReason(): Promise<string | undefined> {
  return (await canConnect(NATS_SERVER)) ? undefined : skipUnlessRequired(`no NATS server at ${NATS_SERVER} (set MODELWATCH_TEST_NATS=host:port or start nats-server -js)`);
}

/** Whether something accepts a TCP connection at `hostPort` within a second. */
export async function canConnect(hostPort: string): Promise<boolean> {
  const [host = '127.0.0.1', port = '4222'] = hostPort.split(':');
  return new Promise<boolean>((resolve) => {
    const sock = net.connect({ host, port: Number(port) });
    sock.setTimeout(1000);
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
    sock.once('timeout', () => {
      sock.destroy();
      resolve(false);
    });
  });
}

/** The nats-server program that tests start servers of their own with: MODELWATCH_NATS_SERVER_BIN or /usr/sbin/nats-server. */
export const NATS_SERVER_BIN = process.env.MODELWATCH_NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

/** Why a test cannot start a NATS server of its own, or undefined when it can. */
export function natsServerBinMissing(): string | undefined {
  return fs.existsSync(NATS_SERVER_BIN) ? undefined : `no ${NATS_SERVER_BIN} to start a private server (set MODELWATCH_NATS_SERVER_BIN)`;
}

/**
 * Starts a JetStream server of the test's own on 127.0.0.1:`port`, storing in `dir`, with `args`
 * besides (`-c FILE` for a configuration), and waits until it accepts connections. The caller
 * stops it (`kill('SIGTERM')`).
 */
export async function startNatsServer(port: number, dir: string, args: string[] = []): Promise<ChildProcess> {
  const child = spawn(NATS_SERVER_BIN, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir, ...args], { stdio: 'ignore' });
  const until = Date.now() + 10_000;
  while (!(await canConnect(`127.0.0.1:${port}`))) {
    if (Date.now() > until || child.exitCode !== null) {
      child.kill('SIGTERM');
      throw new Error(`nats-server did not start on port ${port}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return child;
}

/** A namespace of its own for one test's NATS streams (see {@link natsUrl} and {@link deleteNatsNamespace}). */
export function natsNamespace(): string {
  return `t${randomUUID().replace(/-/g, '').slice(0, 10)}`;
}

/** The stream URL of `namespace` on the test server. */
export function natsUrl(namespace: string): string {
  return `nats://${NATS_SERVER}?namespace=${namespace}`;
}

/** Deletes every JetStream stream (data and group records) created in `namespace`. */
export async function deleteNatsNamespace(namespace: string): Promise<void> {
  const nc = await connect({ servers: NATS_SERVER });
  try {
    const jsm = await jetstreamManager(nc);
    const doomed: string[] = [];
    for await (const name of jsm.streams.names()) {
      if (name.startsWith(`MW_X_${namespace}_`) || name.startsWith(`MWMETA_MW_X_${namespace}_`)) doomed.push(name);
    }
    for (const name of doomed) await jsm.streams.delete(name);
  } finally {
    await nc.close();
  }
}

/** The names of the JetStream streams in `namespace` (to check where a project's events went). */
export async function natsStreamsOf(namespace: string): Promise<{ name: string; messages: number }[]> {
  const nc = await connect({ servers: NATS_SERVER });
  try {
    const jsm = await jetstreamManager(nc);
    const out: { name: string; messages: number }[] = [];
    for await (const info of jsm.streams.list()) {
      if (info.config.name.startsWith(`MW_X_${namespace}_`)) out.push({ name: info.config.name, messages: info.state.messages });
    }
    return out;
  } finally {
    await nc.close();
  }
}
