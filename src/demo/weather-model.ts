import fs from 'node:fs';
import type { ModelInit } from '../project/serving-worker.ts';

/** Weights of a linear regression: `y = intercept + Σ coef_i · x_i`. */
export interface LinearWeights {
  features: string[];
  intercept: number;
  coefficients: number[];
}

/** Ordinary least squares through the normal equations (small feature counts). */
export function fitLinearRegression(features: string[], rows: number[][], y: number[]): LinearWeights {
  const k = features.length + 1;
  const xtx = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const xty = new Array<number>(k).fill(0);
  rows.forEach((row, r) => {
    const x = [1, ...row];
    for (let i = 0; i < k; i++) {
      xty[i]! += x[i]! * y[r]!;
      for (let j = 0; j < k; j++) xtx[i]![j]! += x[i]! * x[j]!;
    }
  });
  const beta = solve(xtx, xty);
  return { features, intercept: beta[0]!, coefficients: beta.slice(1) };
}

/** Gaussian elimination with partial pivoting. */
function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    [m[c], m[p]] = [m[p]!, m[c]!];
    const piv = m[c]![c]!;
    if (Math.abs(piv) < 1e-12) throw new Error('training data is singular: a feature is constant or duplicated');
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r]![c]! / piv;
      for (let j = c; j <= n; j++) m[r]![j]! -= f * m[c]![j]!;
    }
  }
  return m.map((row, i) => row[n]! / row[i]!);
}

/**
 * The demo's model class, loaded by the serving function from this module: it reads the
 * weights that `logModel` stored and predicts the day's maximum temperature.
 */
export class WeatherModel {
  private weights: LinearWeights | undefined;

  constructor(private readonly init: ModelInit) {}

  load(): void {
    if (!this.init.modelFile) throw new Error('WeatherModel needs the logged model file (serve it with modelUri)');
    this.weights = JSON.parse(fs.readFileSync(this.init.modelFile, 'utf8')) as LinearWeights;
  }

  predict(rows: unknown[][]): number[] {
    const w = this.weights;
    if (!w) throw new Error('model not loaded');
    return rows.map((row, r) => {
      if (row.length !== w.features.length) throw new Error(`row ${r} has ${row.length} values; the model takes ${w.features.length} (${w.features.join(', ')})`);
      let y = w.intercept;
      row.forEach((v, i) => {
        if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`row ${r} value ${i} (${w.features[i]}) is not a number`);
        y += w.coefficients[i]! * v;
      });
      return Math.round(y * 100) / 100;
    });
  }
}
