import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

/** A fresh temporary home folder, removed by the returned cleanup. */
export function tempHome(prefix = 'mw-e2e-'): { home: string; cleanup: () => void } {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { home, cleanup: () => fs.rmSync(home, { recursive: true, force: true }) };
}

/** Deterministic pseudo-random numbers (mulberry32) and normal draws (Box–Muller). */
export function rng(seed: number): { uniform: () => number; normal: (mean?: number, sd?: number) => number } {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = (mean = 0, sd = 1) => mean + sd * Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  return { uniform, normal };
}

/** `host:port` of the NATS JetStream server the backend tests use: MODELWATCH_TEST_NATS or 127.0.0.1:4222. */
export const NATS_SERVER = process.env.MODELWATCH_TEST_NATS ?? '127.0.0.1:4222';

/**
 * Why no NATS server can be used (nothing accepts a connection at {@link NATS_SERVER}), or
 * undefined when one answers. The caller reports the reason as a skip, never as a pass.
 */
export async function natsUnavailableReason(): Promise<string | undefined> {
  const [host = '127.0.0.1', port = '4222'] = NATS_SERVER.split(':');
  const ok = await new Promise<boolean>((resolve) => {
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
  return ok ? undefined : `no NATS server at ${NATS_SERVER} (set MODELWATCH_TEST_NATS=host:port or start nats-server -js)`;
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
