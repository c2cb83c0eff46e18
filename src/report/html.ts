/**
 * The report as one self-contained HTML page: inline CSS, inline SVG charts drawn from the
 * binned aggregates in the report (never from raw rows), no script, nothing fetched. About
 * 1 KB per column, so a 200-column report stays a few hundred KB.
 */
import { METHODS } from './methods.ts';
import type { ColumnBins, ColumnDrift, DataDriftReport } from './types.ts';

/** Options of {@link renderReportHtml}. */
export interface HtmlOptions {
  /** Page title (default "Data drift report"). */
  title?: string;
  /** Shown under the title, e.g. the input file names. */
  subtitle?: string;
  /** When the report was made (default now). */
  generatedAt?: Date;
}

const W = 220;
const H = 48;

const CSS = `
:root{--ref:#8a94a6;--cur:#e0671f;--bad:#c62828;--ok:#2e7d32;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2433}
body{margin:24px auto;max-width:1180px;padding:0 16px}
h1{font-size:1.5em;margin:0 0 4px}.sub{color:#5b6475;margin:0 0 16px}
.summary{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0 20px}
.card{border:1px solid #dde2ea;border-radius:8px;padding:10px 14px;min-width:140px}
.card b{display:block;font-size:1.35em}.card span{color:#5b6475;font-size:.85em}
table{border-collapse:collapse;width:100%;font-size:.9em}
th,td{border-bottom:1px solid #e6e9ef;padding:6px 8px;text-align:left;vertical-align:middle}
th{background:#f5f7fa;position:sticky;top:0}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;border-radius:10px;padding:1px 9px;font-size:.8em;font-weight:600;color:#fff}
.badge.d{background:var(--bad)}.badge.k{background:var(--ok)}.card b.bad{color:var(--bad)}.card b.ok{color:var(--ok)}
.legend i{display:inline-block;width:12px;height:12px;margin:0 4px -1px 10px;border-radius:2px}
svg{display:block}svg .r{fill:var(--ref);opacity:.55}svg .c{fill:none;stroke:var(--cur);stroke-width:1.5}
svg .cb{fill:var(--cur);opacity:.8}svg text{font-size:9px;fill:#5b6475}
.skipped{color:#5b6475;font-size:.9em}
`;

/** Renders the report as a standalone HTML document. */
export function renderReportHtml(report: DataDriftReport, opts: HtmlOptions = {}): string {
  const title = opts.title ?? 'Data drift report';
  const entries = Object.entries(report.columns);
  // Drifted columns first, then in report order.
  const rows = entries
    .map(([name, c], i) => ({ name, c, i }))
    .sort((a, b) => Number(b.c.drifted) - Number(a.c.drifted) || a.i - b.i)
    .map(({ name, c }) => row(name, c))
    .join('');
  const skipped = Object.entries(report.skippedColumns);
  const parts = [
    '<!doctype html><html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width,initial-scale=1">',
    `<title>${esc(title)}</title><style>${CSS.trim()}</style></head><body>`,
    `<h1>${esc(title)}</h1>`,
    `<p class="sub">${opts.subtitle ? `${esc(opts.subtitle)} · ` : ''}generated ${esc((opts.generatedAt ?? new Date()).toISOString())}</p>`,
    '<div class="summary">',
    card(report.datasetDrift ? 'detected' : 'not detected', 'dataset drift', report.datasetDrift ? 'bad' : 'ok'),
    card(`${report.numberOfDriftedColumns} / ${report.numberOfColumns}`, 'drifted columns'),
    card(fmt(report.shareOfDriftedColumns), `share drifted (threshold ${fmt(report.driftShare)})`),
    card(String(report.referenceRows), 'reference rows'),
    card(String(report.currentRows), 'current rows'),
    '</div>',
    '<p class="legend">Histograms:<i style="background:var(--ref)"></i>reference<i style="background:var(--cur)"></i>current (shares of each side)</p>',
    '<table><thead><tr><th>Column</th><th>Type</th><th>Method</th><th>Score</th><th>Threshold</th><th>Drift</th>',
    '<th>Missing ref / cur</th><th>TVD / Hellinger</th><th>Distribution</th></tr></thead><tbody>',
    rows,
    '</tbody></table>',
    skipped.length > 0 ? `<p class="skipped">Skipped: ${skipped.map(([n, why]) => `<b>${esc(n)}</b> (${esc(why)})`).join(', ')}</p>` : '',
    '</body></html>\n',
  ];
  return parts.join('');
}

function card(value: string, label: string, cls?: string): string {
  return `<div class="card"><b${cls ? ` class="${cls}"` : ''}>${value}</b><span>${esc(label)}</span></div>`;
}

function row(name: string, c: ColumnDrift): string {
  const badge = c.drifted ? '<span class="badge d">drift</span>' : '<span class="badge k">ok</span>';
  const method = `<span title="${esc(METHODS[c.method].label)}">${esc(c.method)}</span>`;
  return (
    `<tr><td>${esc(name)}</td><td>${c.columnType}</td><td>${method}</td><td class="n">${fmt(c.score)}</td>` +
    `<td class="n">${fmt(c.threshold)}</td><td>${badge}</td><td class="n">${c.missing.reference} / ${c.missing.current}</td>` +
    `<td class="n">${fmt(c.histogram.tvd)} / ${fmt(c.histogram.hellinger)}</td><td>${c.bins ? chart(c.bins) : ''}</td></tr>`
  );
}

/** A small SVG: reference shares as grey bars or area, current as an orange step line or bars. */
export function chart(bins: ColumnBins): string {
  const other = bins.kind === 'values' ? bins.other : undefined;
  const ref = shares(bins.reference, other?.reference);
  const cur = shares(bins.current, other?.current);
  const top = Math.max(...ref, ...cur, 1e-12);
  const plotH = H - 12;
  const y = (s: number): number => plotH - (s / top) * (plotH - 2);
  const k = ref.length;
  if (bins.kind === 'edges') {
    const bw = W / k;
    let area = `M0 ${plotH}`;
    let line = '';
    for (let i = 0; i < k; i++) {
      const x0 = r1(i * bw);
      const x1 = r1((i + 1) * bw);
      area += `L${x0} ${r1(y(ref[i] as number))}L${x1} ${r1(y(ref[i] as number))}`;
      line += `${i === 0 ? 'M' : 'L'}${x0} ${r1(y(cur[i] as number))}L${x1} ${r1(y(cur[i] as number))}`;
    }
    area += `L${W} ${plotH}Z`;
    const lo = bins.edges[0] as number;
    const hi = bins.edges[bins.edges.length - 1] as number;
    return (
      `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img"><path class="r" d="${area}"/><path class="c" d="${line}"/>` +
      `<text x="0" y="${H - 1}">${esc(num(lo))}</text><text x="${W}" y="${H - 1}" text-anchor="end">${esc(num(hi))}</text></svg>`
    );
  }
  const labels = [...bins.labels, ...(bins.other ? [`other (${bins.other.labels})`] : [])];
  const slot = W / labels.length;
  const bw = Math.max(1, slot * 0.4);
  let r = '';
  let c = '';
  labels.forEach((_, i) => {
    const x = i * slot + slot * 0.1;
    r += `M${r1(x)} ${plotH}V${r1(y(ref[i] as number))}h${r1(bw)}V${plotH}z`;
    c += `M${r1(x + bw)} ${plotH}V${r1(y(cur[i] as number))}h${r1(bw)}V${plotH}z`;
  });
  const tip = labels.map((l, i) => `${l}: ${pct(ref[i] as number)} / ${pct(cur[i] as number)}`).join('\n');
  const first = labels[0] ?? '';
  const last = labels[labels.length - 1] ?? '';
  return (
    `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img"><title>${esc(tip)}</title><path class="r" d="${r}"/><path class="cb" d="${c}"/>` +
    `<text x="0" y="${H - 1}">${esc(short(first))}</text>${labels.length > 1 ? `<text x="${W}" y="${H - 1}" text-anchor="end">${esc(short(last))}</text>` : ''}</svg>`
  );
}

/** Shares of each bin (and of the "other" bin when there is one). */
function shares(counts: readonly number[], other: number | undefined): number[] {
  const all = other === undefined ? counts : [...counts, other];
  const total = all.reduce((s, x) => s + x, 0);
  return all.map((x) => (total === 0 ? 0 : x / total));
}

function r1(x: number): number {
  return Math.round(x * 10) / 10;
}

function fmt(x: number): string {
  if (x === 0) return '0';
  if (Math.abs(x) < 1e-4 || Math.abs(x) >= 1e6) return x.toExponential(3);
  return Number(x.toPrecision(4)).toString();
}

function num(x: number): string {
  return Number.isInteger(x) ? String(x) : Number(x.toPrecision(4)).toString();
}

function pct(s: number): string {
  return `${(s * 100).toFixed(1)}%`;
}

function short(s: string): string {
  return s.length > 16 ? `${s.slice(0, 15)}…` : s;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => (ch === '&' ? '&amp;' : ch === '<' ? '&lt;' : ch === '>' ? '&gt;' : ch === '"' ? '&quot;' : '&#39;'));
}
