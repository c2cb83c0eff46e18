import type { Kysely, UpdateObject } from 'kysely';
import { num } from './codec.ts';
import { insertIgnore, type DialectTraits } from './dialect.ts';
import type { Database } from './schema.ts';
import type { EndpointBump } from './port.ts';

/*
 * The store's writes that several processes race on, each built so that the database (not the
 * application) decides the outcome.
 */

/**
 * Adds to the error count and widens first/last request in one UPDATE (min/max through CASE, which
 * every engine spells the same), so concurrent writers never lose each other's counts.
 */
export async function bumpEndpointCounters(
  db: Kysely<Database>,
  project: string,
  id: string,
  delta: EndpointBump,
): Promise<void> {
  const { errors = 0, firstRequest, lastRequest } = delta;
  if (errors === 0 && firstRequest === undefined && lastRequest === undefined) return;
  await db
    .updateTable('endpoints')
    .set((eb) => {
      const set: UpdateObject<Database, 'endpoints'> = { error_count: eb('error_count', '+', errors) };
      if (firstRequest !== undefined) {
        set.first_request = eb
          .case()
          .when(eb.or([eb('first_request', 'is', null), eb('first_request', '>', firstRequest)]))
          .then(firstRequest)
          .else(eb.ref('first_request'))
          .end();
      }
      if (lastRequest !== undefined) {
        set.last_request = eb
          .case()
          .when(eb.or([eb('last_request', 'is', null), eb('last_request', '<', lastRequest)]))
          .then(lastRequest)
          .else(eb.ref('last_request'))
          .end();
      }
      return set;
    })
    .where('project', '=', project)
    .where('id', '=', id)
    .execute();
}

/**
 * Takes or renews lease `name` for `holder`, inside the caller's write transaction. The row is
 * first made to exist (an INSERT that skips an existing key: whoever creates it holds it), then
 * read under a row lock (`FOR UPDATE` off SQLite, where the transaction holds the database's write
 * lock anyway), and taken only from its holder or once expired (`expires_at < now`). Locking a row
 * that exists — rather than updating a maybe-missing one and inserting after — keeps MySQL from
 * taking gap locks, which deadlock two contenders for a new lease.
 */
export async function takeLease(
  tx: Kysely<Database>,
  traits: DialectTraits,
  name: string,
  holder: string,
  expiresAt: number,
  now: number,
): Promise<boolean> {
  if ((await insertIgnore(tx, traits, 'leases', [{ name, holder, expires_at: expiresAt }])) > 0) return true;
  let q = tx.selectFrom('leases').select(['holder', 'expires_at']).where('name', '=', name);
  if (traits.flavor !== 'sqlite') q = q.forUpdate();
  const r = await q.executeTakeFirst();
  // Released between our insert and our read: the next attempt will find the name free.
  if (!r) return false;
  if (r.holder !== holder && num(r.expires_at) >= now) return false;
  await tx.updateTable('leases').set({ holder, expires_at: expiresAt }).where('name', '=', name).execute();
  return true;
}
