import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { listenOnChosenPort } from './listen-port.ts';

/** A TCP server holding some free port of 127.0.0.1, and that port. */
async function holdPort(): Promise<{ port: number; release: () => Promise<void> }> {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as net.AddressInfo).port;
  return { port, release: () => new Promise<void>((resolve) => blocker.close(() => resolve())) };
}

/** Listens a fresh server on 127.0.0.1:`port`, as a serving server's `listen` does; returns the port it got. */
function listener(servers: net.Server[]) {
  return (port: number) =>
    new Promise<number>((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        servers.push(s);
        resolve((s.address() as net.AddressInfo).port);
      });
    });
}

const closeAll = (servers: net.Server[]) => Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));

describe('listenOnChosenPort', () => {
  it('waits for a port held briefly (a worker that just died) and listens there', async () => {
    const servers: net.Server[] = [];
    const held = await holdPort();
    setTimeout(() => void held.release(), 300);
    try {
      assert.equal(await listenOnChosenPort(listener(servers), { preferredPort: held.port, retryMs: 5000 }), held.port);
    } finally {
      await closeAll(servers);
    }
  });

  it('gives up a preferred port that stays in use for any free one, and says so', async () => {
    const servers: net.Server[] = [];
    const held = await holdPort();
    const fallbacks: number[] = [];
    try {
      const got = await listenOnChosenPort(listener(servers), { preferredPort: held.port, retryMs: 300, onFallback: (p) => fallbacks.push(p) });
      assert.notEqual(got, held.port);
      assert.ok(got > 0);
      assert.deepEqual(fallbacks, [held.port]);
    } finally {
      await held.release();
      await closeAll(servers);
    }
  });

  it('fails when the port the spec names stays in use, and prefers it to a remembered one', async () => {
    const servers: net.Server[] = [];
    const held = await holdPort();
    const other = await holdPort();
    await other.release();
    try {
      await assert.rejects(listenOnChosenPort(listener(servers), { port: held.port, preferredPort: other.port, retryMs: 300 }), new RegExp(`port ${held.port} stayed in use for 300 ms: .*EADDRINUSE`));
      assert.equal(servers.length, 0);
      await held.release();
      assert.equal(await listenOnChosenPort(listener(servers), { port: held.port, preferredPort: other.port }), held.port);
    } finally {
      await closeAll(servers);
    }
  });

  it('takes any free port when none is named, and passes other errors on at once', async () => {
    const servers: net.Server[] = [];
    try {
      assert.ok((await listenOnChosenPort(listener(servers), {})) > 0);
      const t0 = Date.now();
      await assert.rejects(
        listenOnChosenPort(() => Promise.reject(Object.assign(new Error('listen EACCES'), { code: 'EACCES' })), { preferredPort: 80, retryMs: 5000 }),
        /EACCES/,
      );
      assert.ok(Date.now() - t0 < 1000, 'not retried');
    } finally {
      await closeAll(servers);
    }
  });
});
