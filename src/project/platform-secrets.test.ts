import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { ModelwatchError } from '../common/errors.ts';
import { isSealed } from '../common/secret-box.ts';
import { openStream } from '../stream/connect.ts';
import { saveServingFunction } from '../server/admin.ts';
import { Platform } from './platform.ts';
import { PlatformSecrets } from './platform-secrets.ts';
import { Project } from './project.ts';

const STORE_URL = 'postgres://mw:Pg@ss9@db.example:5432/prod';
const STREAM_URL = 'nats://svc:NatsPw7@nats.example:4222';
const SECRETS = ['Pg@ss9', 'ss9', 'NatsPw7', 'TrkPw3'];

async function withPlatform(fn: (p: Platform, home: string) => Promise<void>): Promise<void> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-secrets-'));
  const platform = await Platform.open({ home, logger: pino({ level: 'silent' }) });
  await platform.store.createProject({ name: 'p', description: '', labels: {}, monitoring: null, createdAt: 0 });
  try {
    await fn(platform, home);
  } finally {
    await platform.close();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

const mode = (f: string): number => fs.statSync(f).mode & 0o777;

test('credentials are sealed in the store, opened for connecting, redacted for readers', () =>
  withPlatform(async (platform, home) => {
    const project = new Project('p', platform);
    const view = await project.setModelMonitoringCredentials({ tsdbConnection: STORE_URL, streamPath: STREAM_URL });
    assert.deepEqual(view, { tsdbConnection: 'postgres://mw:***@db.example:5432/prod', streamPath: 'nats://svc:***@nats.example:4222', notAvailable: [] });
    const raw = await platform.store.getCredentials('p');
    assert.ok(raw && isSealed(raw.tsdbConnection) && isSealed(raw.streamPath), JSON.stringify(raw));
    assert.deepEqual(await platform.secrets.getCredentials('p'), { tsdbConnection: STORE_URL, streamPath: STREAM_URL });
    // A conflict check compares the opened values: the same URL again is no change.
    await project.setModelMonitoringCredentials({ tsdbConnection: STORE_URL });
    await assert.rejects(project.setModelMonitoringCredentials({ tsdbConnection: 'postgres://other@h/db' }), /already set/);
    assert.equal(mode(path.join(home, 'secret.key')), 0o600, 'the key file was made on first need, for its owner only');
  }));

test('credentials stored in the clear by an earlier version keep working and are sealed by sealPlaintext', () =>
  withPlatform(async (platform) => {
    await platform.store.setCredentials('p', { tsdbConnection: STORE_URL });
    assert.deepEqual(await platform.secrets.getCredentials('p'), { tsdbConnection: STORE_URL });
    assert.deepEqual(await platform.secrets.sealPlaintext(), { credentials: 1, functions: 0 });
    assert.ok(isSealed((await platform.store.getCredentials('p'))!.tsdbConnection));
    assert.deepEqual(await platform.secrets.getCredentials('p'), { tsdbConnection: STORE_URL });
    assert.deepEqual(await platform.secrets.sealPlaintext(), { credentials: 0, functions: 0 }, 'nothing left to seal');
  }));

test('a process with another key, or none, is told which key it needs and never makes a second one', () =>
  withPlatform(async (platform, home) => {
    await new Project('p', platform).setModelMonitoringCredentials({ tsdbConnection: STORE_URL });
    const keyId = platform.secrets.key()!.id;
    const otherKey = new PlatformSecrets(platform.store, home, { MODELWATCH_SECRET_KEY: randomBytes(32).toString('base64') });
    await assert.rejects(otherKey.getCredentials('p'), (e: unknown) => e instanceof ModelwatchError && e.code === 'secret_key_unavailable' && e.message.includes(keyId));
    // A worker on another machine: same store, its own home without the key file.
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-secrets-elsewhere-'));
    try {
      const noKey = new PlatformSecrets(platform.store, elsewhere, {});
      await assert.rejects(noKey.getCredentials('p'), /MODELWATCH_SECRET_KEY.*secret\.key/s);
      await assert.rejects(noKey.setCredentials('p', { tsdbConnection: STORE_URL }), (e: unknown) => e instanceof ModelwatchError && e.code === 'secret_key_unavailable');
      assert.equal(fs.existsSync(path.join(elsewhere, 'secret.key')), false, 'no second key was made');
      // Given the key (copied file or variable), it works.
      fs.copyFileSync(path.join(home, 'secret.key'), path.join(elsewhere, 'secret.key'));
      assert.deepEqual(await new PlatformSecrets(platform.store, elsewhere, {}).getCredentials('p'), { tsdbConnection: STORE_URL });
      const env = { MODELWATCH_SECRET_KEY: fs.readFileSync(path.join(home, 'secret.key'), 'utf8').trim() };
      assert.deepEqual(await new PlatformSecrets(platform.store, path.join(elsewhere, 'none'), env).getCredentials('p'), { tsdbConnection: STORE_URL });
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  }));

test("a serving function's tracking stream path is sealed, shown redacted, and kept when the redacted form comes back", () =>
  withPlatform(async (platform) => {
    const streamPath = 'nats://trk:TrkPw3@nats.example:4222';
    const spec = { models: [{ name: 'm', modelPath: path.join(process.cwd(), 'm.js') }], tracking: { enabled: true, samplingPercentage: 100, streamPath } };
    const shown = await saveServingFunction(platform, 'p', 'serve', spec);
    assert.equal((shown.spec as typeof spec).tracking.streamPath, 'nats://trk:***@nats.example:4222');
    const stored = (await platform.store.getFunction('p', 'serve'))!;
    const sealed = (stored.spec as typeof spec).tracking.streamPath;
    assert.ok(isSealed(sealed));
    assert.equal(platform.secrets.trackingStreamPath(stored), streamPath);
    const listed = JSON.stringify(await new Project('p', platform).listFunctions());
    for (const s of SECRETS) assert.ok(!listed.includes(s), `${s} in ${listed}`);
    // A client loads it (redacted), changes the models, saves it back.
    await saveServingFunction(platform, 'p', 'serve', { ...spec, tracking: { ...spec.tracking, streamPath: 'nats://trk:***@nats.example:4222' } });
    const again = (await platform.store.getFunction('p', 'serve'))!;
    assert.equal(platform.secrets.trackingStreamPath(again), streamPath, 'the stored secret was kept, not replaced by its redaction');
  }));

test('the home is 0700 and every database file 0600, also those an earlier version left open to others', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-modes-'));
  try {
    fs.chmodSync(home, 0o755);
    fs.writeFileSync(path.join(home, 'modelwatch.db'), '');
    fs.chmodSync(path.join(home, 'modelwatch.db'), 0o644);
    const platform = await Platform.open({ home, logger: pino({ level: 'silent' }) });
    const stream = await openStream('', { home });
    try {
      await stream.publish('t', [{ key: 'k', value: 'v' }]);
      await platform.store.createProject({ name: 'p', description: '', labels: {}, monitoring: null, createdAt: 0 });
      assert.equal(mode(home), 0o700);
      assert.equal(mode(path.join(home, 'artifacts')), 0o700);
      const files = fs.readdirSync(home).filter((f) => /\.db(-wal|-shm)?$/.test(f));
      for (const f of ['modelwatch.db', 'modelwatch.db-wal', 'modelwatch.db-shm', 'stream.db', 'stream.db-wal', 'stream.groups.db']) assert.ok(files.includes(f), `${f} in ${files.join(', ')}`);
      for (const f of files) assert.equal(mode(path.join(home, f)), 0o600, f);
    } finally {
      await stream.close();
      await platform.close();
    }
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});
