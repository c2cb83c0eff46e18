import type { Insertable, Kysely } from 'kysely';
import { emptyColumnRow, PredictionColumns } from '../prediction-columns.ts';
import type { Database } from '../schema.ts';
import { COPY_SPECIAL, copyData, copyText, copyValue, CopyData } from './copy.ts';
import { PREDICTION_COLUMN_TYPES } from './unnest-insert.ts';

const COLUMNS = Object.keys(PREDICTION_COLUMN_TYPES);

/** Rows per piece of a COPY made from columns (about 150 KB of text for rows of 10 features). */
const ROWS_PER_PIECE = 512;

/**
 * Inserts predictions inside the caller's transaction `tx` with `COPY`, the raw insert rate (rows
 * have no unique key: the batch's checkpoint keeps them from being written twice, see
 * `writeIngestBatchTx`). `tx` must come from `openPostgresDatabase` (its pool runs COPY). Returns
 * the number of rows inserted.
 */
export async function insertPredictionsPostgres(tx: Kysely<Database>, predictions: readonly Insertable<Database['predictions']>[] | PredictionColumns): Promise<number> {
  if (predictions.length === 0) return 0;
  const data = predictions instanceof PredictionColumns ? new CopyData(copyPieces(predictions), predictions.length) : copyText(COLUMNS, predictions as readonly Record<string, unknown>[]);
  return copyData(tx as Kysely<unknown>, 'predictions', COLUMNS, data);
}

/**
 * The COPY text of `columns` (in the order of {@link COLUMNS}), {@link ROWS_PER_PIECE} rows per
 * piece, made as the connection takes them: no row object is built, and each piece is garbage
 * once sent, where the text of a whole batch (and a row object per prediction) lived until the
 * server had read it all, long enough to be copied into the old generation. Texts are escaped only
 * where the cursor cannot vouch for them (see `PredictionColumns.cursor`).
 */
export function* copyPieces(columns: PredictionColumns): Generator<string> {
  const cursor = columns.cursor(COPY_SPECIAL);
  const row = emptyColumnRow();
  const names = new Map<string, string>();
  const name = (s: string): string => {
    let v = names.get(s);
    if (v === undefined) names.set(s, (v = copyValue(s)));
    return v;
  };
  let parts: string[] = [];
  let rows = 0;
  while (cursor.next(row)) {
    const plain = cursor.plain;
    const labels = row.labelsJson === null ? '\\N' : plain ? row.labelsJson : copyValue(row.labelsJson);
    parts.push(
      `${name(row.project)}\t${name(row.endpointId)}\t${row.time}\t${row.latencyUs}\t${plain ? row.requestId : copyValue(row.requestId)}\t${row.rowIndex}\t`,
      plain ? row.featuresJson : copyValue(row.featuresJson),
      '\t',
      plain ? row.outputsJson : copyValue(row.outputsJson),
      `\t${labels}\n`,
    );
    if (++rows === ROWS_PER_PIECE) {
      yield parts.join('');
      parts = [];
      rows = 0;
    }
  }
  if (rows > 0) yield parts.join('');
}
