import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { openPostgresDatabase, postgresPoolConfig } from '../../src/store/postgres/open.ts';
import { FreshDatabases, unavailableReason } from './servers.ts';

/*
 * A PostgreSQL server that ends sessions (a shutdown, an administrator's pg_terminate_backend) while
 * a connection is checked out of the pool, between two statements of a transaction: the transaction
 * fails, the process goes on, and the pool connects afresh. (Found by test/soak/backend-outage: a
 * stopped server ended `modelwatch up` with an uncaught 'error' event.)
 */
const reason = await unavailableReason('postgres');

describe('postgres: a session ended by the server while checked out', () => {
  const dbs = new FreshDatabases('postgres');
  after(() => dbs.dropAll());

  it('fails the transaction, not the process; the pool goes on', { skip: reason }, async () => {
    const url = await dbs.create();
    const db = openPostgresDatabase(url);
    const admin = new pg.Client(postgresPoolConfig(url));
    await admin.connect();
    try {
      await assert.rejects(
        db.transaction().execute(async (tx) => {
          const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(tx);
          await admin.query('select pg_terminate_backend($1)', [rows[0]!.pid]);
          // The server's FATAL message arrives while no statement runs on this session.
          await new Promise((r) => setTimeout(r, 300));
          await sql`select 1`.execute(tx);
        }),
      );
      const { rows } = await sql<{ one: number }>`select 1 as one`.execute(db);
      assert.equal(rows[0]!.one, 1);
    } finally {
      await admin.end();
      await db.destroy();
    }
  });
});
