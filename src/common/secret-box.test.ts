import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { ModelwatchError } from './errors.ts';
import { createSecretKeyFile, decryptSecret, encryptSecret, isSealed, parseSecretKey, readSecretKey, sealedKeyId } from './secret-box.ts';

const keyA = parseSecretKey(randomBytes(32).toString('base64'), 'test A');
const keyB = parseSecretKey(randomBytes(32).toString('base64'), 'test B');

test('a sealed secret opens with its key only, and never shows the plaintext', () => {
  fc.assert(
    fc.property(fc.string({ minLength: 1, maxLength: 300 }), (plain) => {
      const sealed = encryptSecret(plain, keyA);
      assert.ok(isSealed(sealed));
      assert.equal(sealedKeyId(sealed), keyA.id);
      if (plain.length >= 4) assert.ok(!sealed.includes(plain));
      assert.equal(decryptSecret(sealed, keyA), plain);
      assert.throws(() => decryptSecret(sealed, keyB), (e: unknown) => e instanceof ModelwatchError && e.code === 'secret_key_unavailable');
      assert.throws(() => decryptSecret(sealed, undefined), (e: unknown) => e instanceof ModelwatchError && e.code === 'secret_key_unavailable');
    }),
    { numRuns: 1000 },
  );
});

test('the same secret seals differently each time, and tampering is detected', () => {
  const a = encryptSecret('postgres://u:pw@h/db', keyA);
  assert.notEqual(a, encryptSecret('postgres://u:pw@h/db', keyA), 'a fresh IV per value');
  assert.equal(encryptSecret(a, keyA), a, 'sealing a sealed value changes nothing');
  const raw = Buffer.from(a.split(':').at(-1)!, 'base64');
  raw[raw.length - 1]! ^= 1;
  const tampered = `${a.slice(0, a.lastIndexOf(':') + 1)}${raw.toString('base64')}`;
  assert.throws(() => decryptSecret(tampered, keyA), (e: unknown) => e instanceof ModelwatchError && e.code === 'secret_corrupt');
  assert.equal(decryptSecret('postgres://legacy:plain@h/db', keyA), 'postgres://legacy:plain@h/db', 'a value stored in the clear reads as it is');
});

test('the key comes from MODELWATCH_SECRET_KEY, else <home>/secret.key, created 0600 on first need', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-key-'));
  try {
    assert.equal(readSecretKey(home, {}), undefined);
    const made = createSecretKeyFile(home);
    const file = path.join(home, 'secret.key');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(made.source, file);
    assert.equal(readSecretKey(home, {})?.id, made.id);
    assert.equal(createSecretKeyFile(home).id, made.id, 'a second creator reads the first one');
    const env = randomBytes(32).toString('base64');
    assert.equal(readSecretKey(home, { MODELWATCH_SECRET_KEY: env })?.id, parseSecretKey(env, 'x').id, 'the environment wins');
    assert.throws(() => readSecretKey(home, { MODELWATCH_SECRET_KEY: 'c2hvcnQ=' }), /32-byte key in base64/);
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});
