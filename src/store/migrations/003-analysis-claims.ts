import type { Kysely, Migration } from 'kysely';

/*
 * Claims on the controller's last analyzed marks (`analysis_state`): a controller first claims the
 * windows it is about to hand out — a compare-and-set against the mark it planned from — then
 * publishes them, then moves the mark to the claimed end. A claim names its holder (one claim id
 * per hand-out) and runs out at `claim_expires_at`, so that a controller that dies in between
 * leaves windows that another controller hands out again.
 */
const COLUMNS: readonly [name: string, type: 'bigint' | 'varchar(255)'][] = [
  ['claim_holder', 'varchar(255)'],
  ['claim_end', 'bigint'],
  ['claim_expires_at', 'bigint'],
];

/** Adds the claim columns to `analysis_state` (one statement each, skipping any already there: MySQL DDL is not transactional). */
export function analysisClaimsMigration(): Migration {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are typed loosely on purpose
    async up(db: Kysely<any>): Promise<void> {
      const table = (await db.introspection.getTables()).find((t) => t.name === 'analysis_state');
      const have = new Set(table?.columns.map((c) => c.name) ?? []);
      for (const [name, type] of COLUMNS) {
        if (!have.has(name)) await db.schema.alterTable('analysis_state').addColumn(name, type).execute();
      }
    },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are typed loosely on purpose
    async down(db: Kysely<any>): Promise<void> {
      for (const [name] of COLUMNS) await db.schema.alterTable('analysis_state').dropColumn(name).execute();
    },
  };
}
