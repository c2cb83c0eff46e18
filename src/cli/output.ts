/** One column of a table: a header and how to read the cell from a row. */
export interface Column<T> {
  header: string;
  get: (row: T) => unknown;
}

/** Prints stable JSON (two-space indent) and nothing else. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Prints rows as an aligned text table, or a note when there are none. */
export function printTable<T>(rows: readonly T[], columns: readonly Column<T>[], empty = '(none)'): void {
  if (rows.length === 0) {
    process.stdout.write(`${empty}\n`);
    return;
  }
  const cells = rows.map((r) => columns.map((c) => cell(c.get(r))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: string[]): string => values.map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i]!))).join('  ').trimEnd();
  const out = [line(columns.map((c) => c.header.toUpperCase())), ...cells.map(line)];
  process.stdout.write(`${out.join('\n')}\n`);
}

/** Prints `key: value` lines; nested objects as compact JSON. */
export function printFields(fields: Record<string, unknown>): void {
  const width = Math.max(...Object.keys(fields).map((k) => k.length));
  const out = Object.entries(fields).map(([k, v]) => `${`${k}:`.padEnd(width + 2)}${cell(v)}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

/** Epoch milliseconds as ISO-8601 (UTC), or '-' for none. */
export function time(ms: number | null | undefined): string {
  return typeof ms === 'number' && Number.isFinite(ms) ? new Date(ms).toISOString().replace('.000Z', 'Z') : '-';
}

/**
 * A number for a table cell: integers as they are; other values with 4 significant digits, in
 * plain notation from 1e-4 up to 1e6 and as `1.333e-10` beyond (the exponent kept whole).
 */
export function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
  if (Number.isInteger(v)) return String(v === 0 ? 0 : v); // -0 prints as 0
  const abs = Math.abs(v);
  if (abs >= 1e-4 && abs < 1e6) return trimZeros(v.toFixed(Math.max(0, 3 - Math.floor(Math.log10(abs)))));
  const [mantissa, exponent] = v.toExponential(3).split('e');
  return `${trimZeros(mantissa!)}e${exponent!}`;
}

/** `1.500` → `1.5`, `2.000` → `2`; only after a decimal point. */
function trimZeros(s: string): string {
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

function cell(v: unknown): string {
  if (v === undefined || v === null || v === '') return '-';
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  return JSON.stringify(v);
}
