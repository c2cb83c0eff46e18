import { sql, type AlterTableBuilder, type ColumnDefinitionBuilder, type CreateTableBuilder, type Kysely } from 'kysely';
import type { SqlFlavor } from '../dialect.ts';

/* DDL helpers that let one migration run on every engine, and run again after a failed try. */

/* eslint-disable @typescript-eslint/no-explicit-any -- migrations describe a schema that moves on; they are typed loosely on purpose */

/** On MySQL: InnoDB, utf8mb4 and the binary collation (keys compare byte for byte, as elsewhere). */
export function mysqlTableOptions(t: CreateTableBuilder<any, any>, flavor: SqlFlavor): CreateTableBuilder<any, any> {
  return flavor === 'mysql' ? t.modifyEnd(sql`engine = InnoDB default charset = utf8mb4 collate = utf8mb4_bin`) : t;
}

/**
 * Creates an index unless one of that name exists on the table. SQLite, PostgreSQL and MariaDB
 * know `create index if not exists`; MySQL 8 does not, so there the catalog is asked first.
 */
export async function createIndexOnce(db: Kysely<any>, flavor: SqlFlavor, name: string, table: string, columns: string[]): Promise<void> {
  if (flavor === 'mysql') {
    const found = await sql<{ n: number }>`
      select count(*) as n from information_schema.statistics
      where table_schema = database() and table_name = ${table} and index_name = ${name}`.execute(db);
    if (Number(found.rows[0]?.n ?? 0) > 0) return;
    await db.schema.createIndex(name).on(table).columns(columns).execute();
    return;
  }
  await db.schema.createIndex(name).ifNotExists().on(table).columns(columns).execute();
}

/**
 * Adds a column unless the table has one of that name. Only MySQL needs the check (its DDL commits
 * as it goes, so a migration that failed half-way runs again over the columns it added); SQLite and
 * PostgreSQL run each migration run in one transaction.
 */
export async function addColumnOnce(
  db: Kysely<any>,
  flavor: SqlFlavor,
  table: string,
  column: string,
  type: Parameters<AlterTableBuilder['addColumn']>[1],
  build: (c: ColumnDefinitionBuilder) => ColumnDefinitionBuilder,
): Promise<void> {
  if (flavor === 'mysql') {
    const found = await sql<{ n: number }>`
      select count(*) as n from information_schema.columns
      where table_schema = database() and table_name = ${table} and column_name = ${column}`.execute(db);
    if (Number(found.rows[0]?.n ?? 0) > 0) return;
  }
  await db.schema.alterTable(table).addColumn(column, type, build).execute();
}
