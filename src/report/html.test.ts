import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dataDriftReport } from './data-drift-report.ts';
import { chart, renderReportHtml } from './html.ts';

function wide(columns: number, rows: number): { ref: Record<string, Float64Array>; cur: Record<string, Float64Array> } {
  const ref: Record<string, Float64Array> = {};
  const cur: Record<string, Float64Array> = {};
  for (let c = 0; c < columns; c++) {
    ref[`col_${c}`] = Float64Array.from({ length: rows }, (_, i) => Math.sin(i * (c + 1)) * 10);
    cur[`col_${c}`] = Float64Array.from({ length: rows }, (_, i) => Math.sin(i * (c + 1) + 1) * 10 + (c % 3));
  }
  return { ref, cur };
}

test('the page is self-contained: no script, no link, no URL', () => {
  const { ref, cur } = wide(3, 2000);
  const html = renderReportHtml(dataDriftReport(ref, cur), { generatedAt: new Date(0) });
  assert.doesNotMatch(html, /<script|<link|https?:|url\(/i);
  assert.match(html, /<table>/);
  assert.equal((html.match(/<svg /g) ?? []).length, 3);
});

test('200 columns stay small (binned aggregates only)', () => {
  const { ref, cur } = wide(200, 5000);
  const html = renderReportHtml(dataDriftReport(ref, cur));
  assert.ok(html.length < 400_000, `${html.length} bytes`);
  assert.equal((html.match(/<tr>/g) ?? []).length, 201);
});

test('names and categories are escaped', () => {
  const report = dataDriftReport({ '<b>x</b>': ['<i>', 'a&b', '"q"'] }, { '<b>x</b>': ['<i>', 'a&b', 'a&b'] });
  const html = renderReportHtml(report, { title: 'T <1>' });
  assert.doesNotMatch(html, /<b>x<\/b>|<i>/);
  assert.match(html, /&lt;b&gt;x&lt;\/b&gt;/);
  assert.match(html, /T &lt;1&gt;/);
});

test('value charts show an "other" bar when categories are cut', () => {
  const svg = chart({ kind: 'values', labels: ['a', 'b'], reference: [5, 3], current: [1, 1], other: { reference: 2, current: 8, labels: 30 } });
  assert.match(svg, /other \(30\)/);
  assert.equal((svg.match(/M/g) ?? []).length, 6);
});
