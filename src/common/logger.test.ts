import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { pino } from 'pino';
import { nodeArgs } from './module-url.ts';
import { RepeatedWarning } from './logger.ts';

test('every line the platform logger writes is redacted, whatever field the secret is in', () => {
  const script = [
    `const { createLogger } = await import(${JSON.stringify(new URL('./logger.ts', import.meta.url).href)});`,
    `const log = createLogger('t', 'info');`,
    `log.warn({ url: 'nats://a:1@h1,u2:NatsB222@h2', err: 'cannot reach postgres://mw:Pg@ss9@db:5432/x' }, 'conn host=db password=Lib9q failed');`,
    `log.error(new Error('token mwt_0123456789abcdef_SeCrEtSeCrEtSeCrEtSeCrEtSeCrEtSeCrEtSeCrEt1 refused'));`,
  ].join('\n');
  const r = spawnSync(process.execPath, [...nodeArgs(new URL('./logger.ts', import.meta.url)).slice(0, -1), '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 2, r.stderr);
  for (const secret of ['NatsB222', 'Pg@ss9', 'ss9', 'Lib9q', 'SeCrEt']) assert.ok(!r.stderr.includes(secret), `'${secret}' reached the log: ${r.stderr}`);
  assert.match(lines[0]!, /nats:\/\/\*\*\*@h2/);
  assert.match(lines[0]!, /password=\*\*\*/);
});

test('RepeatedWarning logs a failure that repeats every second with doubling gaps, counting what it left out', () => {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  let now = 0;
  const w = new RepeatedWarning(logger, 'tracking could not publish; retrying', { now: () => now });
  // A stream down for a minute, retried once a second.
  for (let s = 0; s < 60; s++) {
    now = s * 1000;
    w.warn({ err: 'refused' });
  }
  assert.deepEqual(
    lines.map((l) => l.failures),
    [1, 2, 4, 8, 16, 32],
    'logged at 0, 1, 3, 7, 15 and 31 s: 6 lines for 60 failures',
  );
  assert.deepEqual(lines.map((l) => l.notLogged ?? 0), [0, 0, 1, 3, 7, 15]);
  w.recovered();
  assert.equal(lines.at(-1)?.msg, 'tracking could not publish; retrying: recovered');
  assert.equal(lines.at(-1)?.failures, 60);
  now = 100_000;
  w.warn({ err: 'refused again' });
  assert.equal(lines.at(-1)?.failures, 1, 'a new run starts from the first line');
});
