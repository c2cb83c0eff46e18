/** Types of the data-drift report (SPEC section 4): options and the JSON document it produces. */
import type { ColumnType, ColumnValues } from '../stats/column-type.ts';
import type { HistogramDistances } from '../stats/histogram-distance.ts';
import type { DriftMethod } from './methods.ts';

/** Columns in order with a row count; a `Table` from `toColumns` is one. */
export interface ReportTable {
  names: readonly string[];
  columns: Readonly<Record<string, ColumnValues>>;
  rowCount: number;
}

/** Report input: a table (e.g. from `toColumns` or `readReportInput`), or columns by name (typed arrays or arrays of cells). */
export type ReportInput = ReportTable | Readonly<Record<string, ColumnValues>>;

/** Options of `dataDriftReport`. */
export interface DataDriftReportOptions {
  /** Columns to compare, in this order (default: every reference column also in current). */
  columns?: readonly string[];
  /** Method for every column (default: the SPEC rule per column). */
  method?: DriftMethod;
  /** Threshold for every column (default: the method's). */
  threshold?: number;
  /** Method per column (wins over `method`). */
  columnMethods?: Readonly<Record<string, DriftMethod>>;
  /** Threshold per column (wins over `threshold`). */
  columnThresholds?: Readonly<Record<string, number>>;
  /** Type per column (default: inferred, see `stats/column-type.ts`). */
  columnTypes?: Readonly<Record<string, ColumnType>>;
  /** Dataset drift when the share of drifted columns is ≥ this (default 0.5). */
  driftShare?: number;
  /** Benjamini–Hochberg correction of the p-values of p-value tests across columns (default false). */
  benjaminiHochberg?: boolean;
  /** Binned aggregates for charts in each column's `bins` (default true). */
  bins?: boolean;
  /** Called after each column. */
  onProgress?: (done: number, total: number, column: string) => void;
}

/** Binned reference and current counts of a column, for charts (never raw rows). */
export type ColumnBins =
  | {
      /** Numeric bins `[edges[i], edges[i+1])`, last closed. */
      kind: 'edges';
      edges: number[];
      reference: number[];
      current: number[];
    }
  | {
      /** One bin per value (categories, or few distinct numbers); `other` sums what was cut. */
      kind: 'values';
      labels: string[];
      reference: number[];
      current: number[];
      other?: { reference: number; current: number; labels: number };
    };

/** Drift of one column. */
export interface ColumnDrift {
  columnType: ColumnType;
  method: DriftMethod;
  /** p-value for p-value tests (after correction when `benjaminiHochberg`), the distance for distances. */
  score: number;
  threshold: number;
  drifted: boolean;
  /** The built-in app's measures: 22-bin histogram for numeric columns, categories for categorical. */
  histogram: HistogramDistances;
  /**
   * Jensen–Shannon distance on the share bins (Sturges bins, distinct values or categories),
   * whatever the method: a distance for every column, comparable across columns.
   */
  jensenShannon?: number;
  /** Test statistic, for tests that have one (absent when not finite). */
  statistic?: number;
  /** p-value before the Benjamini–Hochberg correction. */
  uncorrectedScore?: number;
  /** Missing values dropped before the tests (numeric columns: non-numeric values too). */
  missing: { reference: number; current: number };
  /** Values tested. */
  count: { reference: number; current: number };
  /** Distinct values over reference ∪ current (numbers: exact; counted before method choice). */
  distinct: number;
  bins?: ColumnBins;
}

/** The report document (`modelwatch report --format json`). */
export interface DataDriftReport {
  datasetDrift: boolean;
  shareOfDriftedColumns: number;
  numberOfColumns: number;
  numberOfDriftedColumns: number;
  driftShare: number;
  referenceRows: number;
  currentRows: number;
  columns: Record<string, ColumnDrift>;
  /** Columns left out, and why (no values on one side, or absent from one side). */
  skippedColumns: Record<string, string>;
}
