/**
 * Child process for the cross-process test: opens the store at argv[2] and, at the wall-clock time
 * argv[4], migrates it and tries to take lease 'race' for holder argv[3]; reports `{ won }`.
 */
import { openStore } from '../connect.ts';

const [url, holder, atText] = process.argv.slice(2);
if (!url || !holder || !atText) throw new Error('usage: lease-race.fixture.ts URL HOLDER AT_MS');
const store = await openStore(url);
const at = Number(atText);
await new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));
// Every child migrates the fresh file at the same moment, then races for the lease.
await store.migrate();
const won = await store.acquireLease('race', holder, 60_000, Date.now());
await store.close();
process.send?.({ won }, () => process.disconnect?.());
