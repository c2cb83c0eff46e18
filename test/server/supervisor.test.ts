import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApplicationError } from '../../src/common/errors.ts';
import { Project } from '../../src/project/project.ts';
import type { Platform } from '../../src/project/platform.ts';
import { createProject, undeployFunction } from '../../src/server/admin.ts';
import { Supervisor } from '../../src/server/supervisor.ts';
import type { FunctionRecord } from '../../src/store/port.ts';
import { childEnv, openPlatform, tempHome, waitFor } from './helpers.ts';

const WRITER = 'model-monitoring-writer';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('Supervisor', { timeout: 120_000 }, () => {
  let platform: Platform;
  let supervisor: Supervisor;
  let cleanup: () => Promise<void>;
  let brokenApp: string;
  const output: string[] = [];

  const fn = async (name: string): Promise<FunctionRecord> => {
    const f = await platform.store.getFunction('sup', name);
    assert.ok(f, `function ${name}`);
    return f;
  };

  before(async () => {
    const t = await tempHome();
    // The apps' folder is the code root the supervisor hands its workers (their own default is their working folder).
    const code = await tempHome('mw-sup-code-');
    cleanup = async () => {
      await t.cleanup();
      await code.cleanup();
    };
    brokenApp = path.join(code.home, 'broken-app.mjs');
    await fs.writeFile(brokenApp, "throw new Error('broken on import');\n");
    platform = await openPlatform(t.home, { codeRoots: [code.home] });
    await createProject(platform, { name: 'sup' });
    await new Project('sup', platform).enableModelMonitoring({ basePeriod: 1, deployHistogramDataDriftApp: false });
    supervisor = new Supervisor(platform, {
      pollMs: 200,
      initialBackoffMs: 200,
      stopTimeoutMs: 5_000,
      env: childEnv(),
      onOutput: (f, stream, line) => output.push(`${f.name} ${stream} ${line}`),
    });
    supervisor.start();
  });

  after(async () => {
    await supervisor.stop();
    await platform.close();
    await cleanup();
  });

  test('a deployed function runs as a child process and reports running with its pid', async () => {
    const f = await waitFor('writer running', async () => {
      const r = await fn(WRITER);
      return r.status.state === 'running' && r.status.pid && r.status.heartbeatAt ? r : undefined;
    });
    assert.notEqual(f.status.pid, process.pid, 'a child process, not this one');
    assert.ok(alive(f.status.pid!));
    assert.equal(f.status.restarts ?? 0, 0);
    const listed = supervisor.list().find((c) => c.name === WRITER);
    assert.equal(listed?.pid, f.status.pid);
    // Every deployed infrastructure function gets its own child.
    await waitFor('three children', async () => (supervisor.list().filter((c) => c.pid).length === 3 ? true : undefined));
  });

  test('a second supervisor on the same store stands by', async () => {
    const second = new Supervisor(platform, { pollMs: 100, env: childEnv(), onOutput: () => undefined });
    second.start();
    await new Promise((r) => setTimeout(r, 800));
    assert.deepEqual(second.list(), []);
    await second.stop();
    assert.equal(supervisor.list().length, 3, 'the first keeps its children');
  });

  test('a killed child is restarted with restarts incremented and the crash recorded', async () => {
    const before = await fn(WRITER);
    const oldPid = before.status.pid!;
    process.kill(oldPid, 'SIGKILL');
    const crashed = await waitFor('crash recorded', async () => {
      const r = await fn(WRITER);
      return r.status.lastError?.includes('SIGKILL') ? r : undefined;
    });
    assert.match(crashed.status.lastError!, /killed by SIGKILL/);
    const after = await waitFor('restarted', async () => {
      const r = await fn(WRITER);
      return r.status.state === 'running' && r.status.pid !== oldPid && r.status.restarts === 1 ? r : undefined;
    });
    assert.ok(alive(after.status.pid!));
    assert.ok(!alive(oldPid));
  });

  test('a redeployed function gets a fresh child', async () => {
    const before = await fn(WRITER);
    await new Project('sup', platform).deployFunction(WRITER);
    const after = await waitFor('redeployed', async () => {
      const r = await fn(WRITER);
      return r.status.state === 'running' && r.status.pid !== before.status.pid ? r : undefined;
    });
    assert.equal(after.status.restarts, 0, 'a redeploy starts a clean crash history');
    assert.ok(!alive(before.status.pid!), 'the old child was stopped');
  });

  test('an app that cannot load: deploy throws its own error, which is recorded, and it is retried', async () => {
    await new Project('sup', platform).setModelMonitoringFunction({ name: 'broken-app', application: brokenApp });
    const cannotImport = new RegExp(`^monitoring application 'broken-app': could not import module '${brokenApp.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}': broken on import`);
    await assert.rejects(new Project('sup', platform).deployFunction('broken-app'), (err: unknown) => {
      assert.ok(err instanceof ApplicationError, String(err));
      assert.match(err.message, cannotImport);
      return true;
    });
    const f = await waitFor('broken app crashed twice', async () => {
      const r = await fn('broken-app');
      return r.status.state === 'crashed' && (r.status.restarts ?? 0) >= 1 ? r : undefined;
    });
    assert.equal(f.status.lastErrorCode, 'application_error', 'the worker\'s own error, not how its process ended');
    assert.match(f.status.lastError!, cannotImport);
    await new Project('sup', platform).removeModelMonitoringFunction('broken-app');
    await waitFor('broken app forgotten', async () => (supervisor.list().some((c) => c.name === 'broken-app') ? undefined : true));
  });

  test('undeploy stops the child', async () => {
    const pid = (await fn(WRITER)).status.pid!;
    await undeployFunction(platform, 'sup', WRITER);
    await waitFor('child gone', async () => (!alive(pid) && !supervisor.list().some((c) => c.name === WRITER) ? true : undefined), 20_000);
    const f = await fn(WRITER);
    assert.equal(f.status.state, 'stopped');
    assert.equal(f.deployed, false);
  });

  test('stop() stops every child', async () => {
    const pids = supervisor.list().map((c) => c.pid).filter((p): p is number => p !== undefined);
    assert.ok(pids.length >= 2, `children: ${JSON.stringify(supervisor.list())}`);
    await supervisor.stop();
    for (const pid of pids) assert.ok(!alive(pid), `pid ${pid} still alive`);
    assert.deepEqual(supervisor.list(), []);
    const stream = await fn('model-monitoring-stream');
    assert.equal(stream.status.state, 'stopped');
  });
});
