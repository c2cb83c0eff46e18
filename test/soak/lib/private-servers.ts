/**
 * Servers of a soak test's own, on ports nobody else uses, that it may stop and start again: a NATS
 * JetStream server and a PostgreSQL cluster, each in a temporary folder, each with a password (so
 * that a test can look for it in what the platform prints).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { canConnect } from '../../backends/nats.ts';

const NATS_BIN = process.env.MODELWATCH_NATS_SERVER_BIN ?? '/usr/sbin/nats-server';
const PG_BIN = process.env.MODELWATCH_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** Why these servers cannot be started here, or undefined when they can. */
export function privateServersUnavailable(): string | undefined {
  if (!fs.existsSync(NATS_BIN)) return `no ${NATS_BIN} (set MODELWATCH_NATS_SERVER_BIN)`;
  if (!fs.existsSync(path.join(PG_BIN, 'pg_ctl'))) return `no PostgreSQL binaries in ${PG_BIN} (set MODELWATCH_PG_BIN)`;
  if (process.getuid?.() === 0 && spawnSync('id', ['-u', 'postgres']).status !== 0) return 'running as root without a postgres user to run PostgreSQL as';
  return undefined;
}

async function waitUntil(what: string, cond: () => Promise<boolean>, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`${what} did not happen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A private NATS JetStream server with a user and password. */
export class PrivateNats {
  private child: ChildProcess | undefined;
  readonly user = 'mwsoak';

  constructor(
    readonly port: number,
    private readonly dir: string,
    readonly password: string,
  ) {}

  /** nats://user:password@127.0.0.1:port, with extra query parameters. */
  url(query = ''): string {
    return `nats://${this.user}:${this.password}@127.0.0.1:${this.port}${query}`;
  }

  async start(): Promise<void> {
    fs.mkdirSync(this.dir, { recursive: true });
    const child = spawn(NATS_BIN, ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.dir, '--user', this.user, '--pass', this.password], { stdio: 'ignore' });
    this.child = child;
    await waitUntil(`nats-server on port ${this.port}`, async () => {
      if (child.exitCode !== null) throw new Error(`nats-server exited with ${child.exitCode}`);
      return canConnect(`127.0.0.1:${this.port}`);
    }, 10_000);
  }

  /** Stops the server as an operator would (SIGTERM) and waits until it has exited. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}

/** A private PostgreSQL cluster (initdb), password authentication over TCP, one database. */
export class PrivatePostgres {
  readonly user = 'mwsoak';
  readonly database = 'mwsoak';
  private readonly data: string;
  private running = false;

  constructor(
    readonly port: number,
    private readonly dir: string,
    readonly password: string,
  ) {
    this.data = path.join(dir, 'data');
  }

  /** postgres://user:password@127.0.0.1:port/database */
  url(): string {
    return `postgres://${this.user}:${encodeURIComponent(this.password)}@127.0.0.1:${this.port}/${this.database}`;
  }

  private run(cmd: string, args: string[]): void {
    const asPostgres = process.getuid?.() === 0;
    const r = asPostgres ? spawnSync('runuser', ['-u', 'postgres', '--', path.join(PG_BIN, cmd), ...args], { encoding: 'utf8' }) : spawnSync(path.join(PG_BIN, cmd), args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${String(r.status)}): ${r.stderr}${r.stdout}`);
  }

  /** initdb, start, then the role (with its password) and the database. */
  async init(): Promise<void> {
    fs.mkdirSync(this.dir, { recursive: true });
    if (process.getuid?.() === 0) spawnSync('chown', ['-R', 'postgres', this.dir]);
    const pw = path.join(this.dir, 'pw');
    fs.writeFileSync(pw, `${this.password}\n`);
    if (process.getuid?.() === 0) spawnSync('chown', ['postgres', pw]);
    this.run('initdb', ['-D', this.data, '-U', this.user, '--pwfile', pw, '--auth-host=scram-sha-256', '--auth-local=trust', '-E', 'UTF8']);
    fs.rmSync(pw);
    await this.start();
    this.run('createdb', ['-h', this.dir, '-p', String(this.port), '-U', this.user, this.database]);
  }

  async start(): Promise<void> {
    this.run('pg_ctl', ['-D', this.data, '-o', `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1`, '-l', path.join(this.dir, 'log'), '-w', 'start']);
    this.running = true;
    await waitUntil(`PostgreSQL on port ${this.port}`, () => canConnect(`127.0.0.1:${this.port}`), 10_000);
  }

  /** Stops the cluster (fast shutdown: open sessions are ended, as in an outage). */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.run('pg_ctl', ['-D', this.data, '-m', 'fast', '-w', 'stop']);
  }
}
