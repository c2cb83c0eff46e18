import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempHome } from './helpers.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

test('the README SDK example runs as written', () => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const m = /<!-- readme-example:start -->\s*```js\n([\s\S]*?)```\s*<!-- readme-example:end -->/.exec(readme);
  assert.ok(m, 'README has the marked example');
  const { home, cleanup } = tempHome('mw-readme-');
  // Inside the package so that `import ... from 'modelwatch'` resolves to this package.
  const file = path.join(root, 'test', 'e2e', `.readme-example-${process.pid}.mjs`);
  fs.writeFileSync(file, m[1]!);
  try {
    const r = spawnSync(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      env: { ...process.env, EXAMPLE_HOME: home, MODELWATCH_LOG_LEVEL: 'silent' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, `example failed:\n${r.stderr}`);
    assert.match(r.stdout, /^doubler (no_detection|potential_detection|detected)/m);
    assert.match(r.stdout, /x_high/);
    assert.match(r.stdout, /general_drift/);
  } finally {
    fs.rmSync(file, { force: true });
    cleanup();
  }
});

test('the README report example runs as written', () => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const m = /<!-- readme-report:start -->\s*```js\n([\s\S]*?)```\s*<!-- readme-report:end -->/.exec(readme);
  assert.ok(m, 'README has the marked report example');
  const file = path.join(root, 'test', 'e2e', `.readme-report-${process.pid}.mjs`);
  fs.writeFileSync(file, m[1]!);
  try {
    const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, `example failed:\n${r.stderr}`);
    // 10 reference rows: Kolmogorov–Smirnov on age (every current age is above the reference median).
    assert.deepEqual(r.stdout.trim().split('\n'), ['true ks true', 'true']);
  } finally {
    fs.rmSync(file, { force: true });
  }
});
