import { CompiledQuery, type Insertable, type Kysely } from 'kysely';
import { chunkRows, MYSQL_TRAITS, type DialectTraits } from '../dialect.ts';
import { emptyColumnRow, PredictionColumns } from '../prediction-columns.ts';
import type { Database } from '../schema.ts';

type PredictionInsert = Insertable<Database['predictions']>;

/** The `predictions` columns in the order the value tuples list them. */
const COLUMNS = ['project', 'endpoint_id', 'time', 'latency_us', 'request_id', 'row_index', 'features', 'outputs', 'labels'] as const satisfies readonly (keyof PredictionInsert)[];

const HEAD = `insert into predictions (${COLUMNS.map((c) => `\`${c}\``).join(', ')}) values `;
const STATEMENT = `${HEAD}?`;

/**
 * Inserts predictions inside the caller's transaction `tx` on MySQL/MariaDB: multi-row `INSERT`s
 * of up to the statement limits of {@link MYSQL_TRAITS} (rows have no unique key: the batch's
 * checkpoint keeps them from being written twice, see `writeIngestBatchTx`). Columns (the stream processor's
 * batches) are written as statement text directly (see {@link valuesStatements}); rows go to mysql2
 * as one nested-array parameter (`VALUES ?`), which it escapes in one pass, rather than as one
 * Kysely placeholder per value (compiling tens of thousands of placeholders costs more than the
 * insert). Returns the number of rows inserted.
 */
export async function insertPredictionsMysql(tx: Kysely<Database>, rows: readonly PredictionInsert[] | PredictionColumns): Promise<number> {
  let inserted = 0;
  if (rows instanceof PredictionColumns) {
    for (const { sql } of valuesStatements(rows)) inserted += Number((await tx.executeQuery(CompiledQuery.raw(sql, []))).numAffectedRows ?? 0n);
    return inserted;
  }
  for (const part of chunkRows(rows, MYSQL_TRAITS)) {
    const tuples = part.map((r) => COLUMNS.map((c) => r[c] ?? null));
    const result = await tx.executeQuery(CompiledQuery.raw(STATEMENT, [tuples]));
    inserted += Number(result.numAffectedRows ?? 0n);
  }
  return inserted;
}

/**
 * What {@link mysqlString} escapes, and any character past ASCII (a row holding one is measured
 * in UTF-8 bytes): the cursor tests each joined chunk of texts once, so that a row of plain text
 * is quoted as it is, neither escaped nor measured character by character.
 */
/* eslint-disable no-control-regex -- these are the control characters MySQL escapes */
const MYSQL_SPECIAL = /[\0\b\t\n\r\x1a"'\\\u0080-\uffff]/;
const ESCAPED = /[\0\b\t\n\r\x1a"'\\]/g;
/* eslint-enable no-control-regex */
const ESCAPES: Record<string, string> = { '\0': '\\0', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\x1a': '\\Z', '"': '\\"', "'": "\\'", '\\': '\\\\' };

/** A MySQL string literal of `s`, as mysql2 writes it for a connection whose sql_mode keeps backslash escapes (ours, see open.ts). */
export function mysqlString(s: string): string {
  return `'${s.replace(ESCAPED, (c) => ESCAPES[c]!)}'`;
}

/**
 * The INSERT statements of `columns`, in order, each within `traits`' parameter count (as if each
 * value were one) and statement bytes. Written from the columns' cursor: no row object, no array
 * per row, and a row whose texts are plain (see {@link MYSQL_SPECIAL}) is put together as it is.
 * With the rows escaped by mysql2 instead, the stream processor allocated some 1.5 KB per event
 * for the insert alone (ingest benchmark on MariaDB, sampling heap profile).
 */
export function* valuesStatements(columns: PredictionColumns, traits: DialectTraits = MYSQL_TRAITS): Generator<{ sql: string; rows: number }> {
  const cursor = columns.cursor(MYSQL_SPECIAL);
  const row = emptyColumnRow();
  // Projects and endpoints are few: escaped once, with the bytes their UTF-8 adds to their length.
  const names = new Map<string, { text: string; extra: number }>();
  const name = (s: string): { text: string; extra: number } => {
    let v = names.get(s);
    if (v === undefined) {
      const text = mysqlString(s);
      names.set(s, (v = { text, extra: Buffer.byteLength(text) - text.length }));
    }
    return v;
  };
  const maxRows = Math.max(1, Math.floor(traits.maxParams / COLUMNS.length));
  const maxBytes = traits.maxStatementBytes ?? Number.POSITIVE_INFINITY;
  const frame = HEAD.length;
  // The pieces of the statement's tuples, joined once per statement (a template string per row
  // made a tree of some twenty pieces, each an object of its own, that the join then walked).
  let parts: string[] = [];
  let rows = 0;
  let bytes = frame;
  while (cursor.next(row)) {
    const project = name(row.project);
    const endpoint = name(row.endpointId);
    const plain = cursor.plain;
    const time = String(row.time);
    const latency = String(row.latencyUs);
    const rowIndex = String(row.rowIndex);
    const fixed = project.text.length + project.extra + endpoint.text.length + endpoint.extra + time.length + latency.length + rowIndex.length + 12;
    // A plain row's texts go in between quotes that are part of the pieces around them.
    const { requestId, featuresJson, outputsJson, labelsJson } = row;
    const id = plain ? requestId : mysqlString(requestId);
    const features = plain ? featuresJson : mysqlString(featuresJson);
    const outputs = plain ? outputsJson : mysqlString(outputsJson);
    const labels = labelsJson === null ? null : plain ? labelsJson : mysqlString(labelsJson);
    const texts = id.length + features.length + outputs.length + (labels?.length ?? 4);
    const size = fixed + (plain ? texts + 8 : Buffer.byteLength(id) + Buffer.byteLength(features) + Buffer.byteLength(outputs) + (labels === null ? 4 : Buffer.byteLength(labels)));
    if (rows > 0 && (rows >= maxRows || bytes + size > maxBytes)) {
      yield { sql: HEAD + parts.join(''), rows };
      parts = [];
      rows = 0;
      bytes = frame;
    }
    parts.push(rows === 0 ? '(' : ',(', project.text, ',', endpoint.text, ',', time, ',', latency, ',');
    if (plain) {
      parts.push("'", id, "',", rowIndex, ",'", features, "','", outputs, "',");
      if (labels === null) parts.push('NULL)');
      else parts.push("'", labels, "')");
    } else {
      parts.push(id, ',', rowIndex, ',', features, ',', outputs, ',', labels ?? 'NULL', ')');
    }
    rows += 1;
    bytes += size;
  }
  if (rows > 0) yield { sql: HEAD + parts.join(''), rows };
}
