import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { issueToken, type Role } from '../../src/auth/tokens.ts';
import { nodeArgs } from '../../src/common/module-url.ts';
import { Platform } from '../../src/project/platform.ts';
import { createServer, type ServerOptions } from '../../src/server/app.ts';

/** A fresh home folder, removed by the returned cleanup. */
export async function tempHome(prefix = 'mw-test-'): Promise<{ home: string; cleanup: () => Promise<void> }> {
  const home = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  return { home, cleanup: () => fs.rm(home, { recursive: true, force: true }) };
}

/** A platform on a temp home whose logs are silent; `codeRoots` as `modelwatch up --code-root` sets them. */
export async function openPlatform(home: string, opts: { codeRoots?: string[] } = {}): Promise<Platform> {
  const { pino } = await import('pino');
  return Platform.open({ home, logger: pino({ level: 'silent' }), ...opts });
}

/** A REST server on 127.0.0.1 and a free port, with its base URL. */
export async function startServer(platform: Platform, opts: Omit<ServerOptions, 'platform'> = {}): Promise<{ app: FastifyInstance; url: string }> {
  const app = createServer({ platform, logger: false, ...opts });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url: address };
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** The environment for child processes of tests: silent logs, not mistaken for test runners. */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['NODE_TEST_CONTEXT', 'MODELWATCH_URL', 'MODELWATCH_HOME', 'MODELWATCH_TOKEN', 'MODELWATCH_STORE_URL', 'MODELWATCH_TSDB_URL', 'MODELWATCH_STREAM_URL']) delete env[k];
  return { ...env, MODELWATCH_LOG_LEVEL: 'silent', ...extra };
}

/** What a CLI run printed, and its exit code. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `node` arguments that run the CLI from the sources (`modelwatch ...` once installed). */
export const CLI = nodeArgs(new URL('../../src/cli/main.ts', import.meta.url));

/**
 * Runs `modelwatch ...args` (the CLI's sources) as a child process and collects its output. The working
 * directory defaults to the OS temp folder, so that a command missing --home never touches the
 * repository's.
 */
export function runCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliRun> {
  return runNode([...CLI, ...args], { cwd: opts.cwd ?? os.tmpdir(), env: childEnv(opts.env) });
}

/** Runs `node ...args` as a child process and collects its exit code and output. */
export function runNode(args: string[], opts: { cwd?: string; env: NodeJS.ProcessEnv }): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `r` when it exited 0; otherwise fails with its output. */
export function ok(r: CliRun): CliRun {
  assert.equal(r.code, 0, `exit ${String(r.code)}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

/** An API token stored in the platform's store, as `modelwatch tokens create` makes it; the token is returned. */
export async function issueTestToken(platform: Platform, role: Role, opts: { project?: string; name?: string } = {}): Promise<string> {
  return (await issueToken(platform.store, { name: opts.name ?? `test ${role}`, role, project: opts.project ?? null, now: Date.now() })).token;
}

/** What {@link hostileRestServer}'s `call` answers: the status and the parsed JSON body. */
export interface RestAnswer {
  status: number;
  body: { error?: string; message?: string } & Record<string, unknown>;
}

/**
 * A REST server on a fresh home holding project `p`, for tests that throw many requests at it:
 * `call` sends a raw body text (JSON content type on every POST) over a pooled real HTTP client.
 */
export async function hostileRestServer(prefix: string): Promise<{ platform: Platform; call: (method: 'GET' | 'POST', path: string, body?: string) => Promise<RestAnswer>; close: () => Promise<void> }> {
  const { Agent, request } = await import('undici');
  const t = await tempHome(prefix);
  const platform = await openPlatform(t.home);
  const { app, url } = await startServer(platform);
  const agent = new Agent({ connections: 4 });
  const call = async (method: 'GET' | 'POST', p: string, body?: string): Promise<RestAnswer> => {
    const res = await request(`${url}/api/v1${p}`, {
      method,
      dispatcher: agent,
      ...(method !== 'GET' ? { headers: { 'content-type': 'application/json' } } : {}),
      ...(body !== undefined ? { body } : {}),
    });
    const text = await res.body.text();
    return { status: res.statusCode, body: text ? (JSON.parse(text) as RestAnswer['body']) : {} };
  };
  assert.equal((await call('POST', '/projects', '{"name":"p"}')).status, 201);
  const close = async (): Promise<void> => {
    await app.close();
    await platform.close();
    await agent.close();
    await t.cleanup();
  };
  return { platform, call, close };
}
