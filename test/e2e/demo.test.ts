import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { test } from 'node:test';
import { nodeArgs } from '../../src/common/module-url.ts';
import { runDemo } from '../../src/demo/main.ts';
import { tempHome } from './helpers.ts';

const cliArgs = nodeArgs(new URL('../../src/cli/main.ts', import.meta.url));

test('the demo flags the shifted season and leaves its data for the CLI', async () => {
  const { home, cleanup } = tempHome('mw-demo-');
  try {
    const lines: string[] = [];
    const reports = await runDemo({ home, out: (l) => lines.push(l) });
    assert.equal(reports.length, 4);
    assert.deepEqual(reports.map((r) => r.status), ['no_detection', 'no_detection', 'potential_detection', 'potential_detection']);
    assert.ok(reports[2]!.generalDrift > 2 * reports[0]!.generalDrift);
    assert.equal(reports[2]!.topFeatures[0]!.feature, 'temp_min', 'summer nights are what moved most');
    assert.ok(lines.some((l) => l.includes('summer (shifted season)')));
    // The README shows this run's table as it prints it.
    const readme = fs.readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const shown = /<!-- demo-output:start -->\s*```\n([\s\S]*?)```\s*<!-- demo-output:end -->/.exec(readme)?.[1]?.trimEnd().split('\n');
    assert.ok(shown, 'README has the marked demo output');
    const table = lines.slice(lines.findIndex((l) => l.startsWith('window ')), lines.findIndex((l) => l.startsWith('window ')) + 5).map((l) => l.trimEnd());
    assert.deepEqual(shown, table, 'the README shows the demo table as it prints it');

    const cli = (...args: string[]) => {
      const r = spawnSync(process.execPath, [...cliArgs, '--home', home, ...args], { encoding: 'utf8', env: { ...process.env, MODELWATCH_LOG_LEVEL: 'silent' } });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as Record<string, unknown>[];
    };
    const endpoints = cli('endpoints', 'list', '--project', 'demo', '--json');
    assert.equal(endpoints.length, 1);
    assert.equal(endpoints[0]!.driftStatus, 'potential_detection');
    const functions = cli('functions', 'list', '--project', 'demo', '--json');
    assert.ok(functions.some((f) => f.name === 'histogram-data-drift' && f.deployed === true));

    // A second run continues on the same home, later in time.
    const again = await runDemo({ home, out: () => undefined, requestsPerWindow: 40 });
    assert.ok(Date.parse(again[0]!.windowStart) > Date.parse(reports[3]!.windowStart));
  } finally {
    cleanup();
  }
});
