import { stat, writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { Option, type Command } from 'commander';
import { parseMethod, type DriftMethod } from '../../report/methods.ts';
import type { Progress } from '../../report/progress.ts';
import type { DataDriftReportOptions } from '../../report/types.ts';
import { parseColumnTypes } from '../../stats/column-type.ts';
import { UsageError } from '../errors.ts';
import { collect, nonNegative } from '../parse.ts';

interface ReportCliOptions {
  reference: string;
  current: string;
  method?: string;
  columnMethod?: string[];
  columnType?: string[];
  threshold?: number;
  columnThreshold?: string[];
  columns?: string;
  driftShare?: number;
  bh?: boolean;
  format?: 'json' | 'html';
  out?: string;
  progress?: boolean;
}

/** Inputs above this many bytes (both files) show progress unless `--no-progress`. */
const LONG_INPUT_BYTES = 32 << 20;

/**
 * `report`: the offline data-drift report (SPEC section 4) between two files — CSV, JSON
 * lines, JSON or Parquet — as JSON or a self-contained HTML page.
 */
export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description('data-drift report between a reference and a current data set (CSV, JSON lines or Parquet), as JSON or HTML')
    .requiredOption('--reference <file>', 'reference data (e.g. the training set)')
    .requiredOption('--current <file>', 'current data to compare with the reference')
    .option('--method <name>', 'drift method for every column (default: per column by size and distinct values)')
    .option('--column-method <col=name>', 'drift method for one column (repeatable)', collect)
    .option('--column-type <col=type>', 'numeric or categorical for one column (repeatable)', collect)
    .option('--threshold <x>', 'drift threshold for every column (default: the method\u2019s)', nonNegative)
    .option('--column-threshold <col=x>', 'drift threshold for one column (repeatable)', collect)
    .option('--columns <a,b,...>', 'columns to compare (default: every column in both files)')
    .option('--drift-share <x>', 'dataset drift when this share of columns drifted (default 0.5)', nonNegative)
    .option('--bh', 'Benjamini\u2013Hochberg correction of p-values across columns')
    .addOption(new Option('--format <format>', 'output format (default: from --out, else json)').choices(['json', 'html']))
    .option('--out <file>', 'write to this file (default: stdout)')
    .option('--no-progress', 'no progress on stderr')
    .action(async (o: ReportCliOptions) => {
      await runReport(o);
    });
}

async function runReport(o: ReportCliOptions): Promise<void> {
  const format = o.format ?? (o.out && ['.html', '.htm'].includes(extname(o.out).toLowerCase()) ? 'html' : 'json');
  const options = reportOptions(o);
  // Loaded when the command runs, so that `--help` and `--version` load none of it.
  const [{ dataDriftReport }, { renderReportHtml }, { NO_PROGRESS, stderrProgress }, { readReportInput }] = await Promise.all([
    import('../../report/data-drift-report.ts'),
    import('../../report/html.ts'),
    import('../../report/progress.ts'),
    import('../../report/read-input.ts'),
  ]);
  const bytes = (await Promise.all([o.reference, o.current].map((p) => stat(p).then((s) => s.size, () => 0)))).reduce((a, b) => a + b, 0);
  const progress: Progress = o.progress !== false && bytes >= LONG_INPUT_BYTES ? stderrProgress() : NO_PROGRESS;
  const read = async (path: string, task: string): ReturnType<typeof readReportInput> => {
    progress.start(task, 100);
    try {
      return await readReportInput(path, { onProgress: (done, total) => progress.update(total === 0 ? 100 : Math.floor((done / total) * 100)) });
    } finally {
      progress.stop();
    }
  };
  const reference = await read(o.reference, 'reading reference');
  const current = await read(o.current, 'reading current');
  progress.start('comparing columns', options.columns?.length ?? reference.table.names.length);
  let report;
  try {
    report = dataDriftReport(reference.table, current.table, { ...options, onProgress: (done) => progress.update(done) });
  } finally {
    progress.stop();
  }
  const body = format === 'html' ? renderReportHtml(report, { subtitle: `${o.reference} → ${o.current}` }) : `${JSON.stringify(report, null, 2)}\n`;
  if (o.out) {
    await writeFile(o.out, body);
    process.stderr.write(
      `wrote ${o.out}: ${report.numberOfDriftedColumns} of ${report.numberOfColumns} columns drifted; dataset drift ${report.datasetDrift ? 'detected' : 'not detected'}\n`,
    );
  } else {
    process.stdout.write(body);
  }
}

function reportOptions(o: ReportCliOptions): DataDriftReportOptions {
  const out: DataDriftReportOptions = { bins: true };
  if (o.method) out.method = method(o.method);
  if (o.columnMethod) out.columnMethods = Object.fromEntries(pairs(o.columnMethod, '--column-method').map(([k, v]) => [k, method(v)]));
  if (o.columnType) out.columnTypes = parseColumnTypes(o.columnType);
  if (o.threshold !== undefined) out.threshold = o.threshold;
  if (o.columnThreshold) {
    out.columnThresholds = Object.fromEntries(
      pairs(o.columnThreshold, '--column-threshold').map(([k, v]) => {
        const x = Number(v);
        if (v.trim() === '' || !Number.isFinite(x) || x < 0) throw new UsageError(`--column-threshold ${k}=${v}: the threshold must be a number >= 0`);
        return [k, x];
      }),
    );
  }
  if (o.columns) out.columns = o.columns.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (o.driftShare !== undefined) {
    if (o.driftShare > 1) throw new UsageError('--drift-share must be between 0 and 1');
    out.driftShare = o.driftShare;
  }
  if (o.bh) out.benjaminiHochberg = true;
  return out;
}

function method(name: string): DriftMethod {
  try {
    return parseMethod(name);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** `col=value` pairs; the last `=` splits, so column names may hold `=`. */
function pairs(items: string[], what: string): [string, string][] {
  return items.map((p) => {
    const i = p.lastIndexOf('=');
    if (i <= 0) throw new UsageError(`${what} '${p}' is not of the form column=value`);
    return [p.slice(0, i), p.slice(i + 1)];
  });
}
