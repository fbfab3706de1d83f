/**
 * The report page's HTML: one self-contained file (inline CSS and SVG, no script, no network)
 * that reads on a laptop screen and prints (charts are not split across pages).
 */

/** Text made safe for HTML element content and attribute values. */
export function esc(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A table from rows of cells (already formatted text); the first row's keys are the header. */
export function htmlTable(rows: Array<Record<string, string | number>>, caption?: string): string {
  if (rows.length === 0) return '';
  const keys = Object.keys(rows[0]);
  const head = keys.map((k) => `<th>${esc(k)}</th>`).join('');
  const body = rows.map((r) => `<tr>${keys.map((k) => `<td${typeof r[k] === 'number' ? ' class="num"' : ''}>${esc(r[k] ?? '')}</td>`).join('')}</tr>`).join('\n');
  return `<table>${caption ? `<caption>${esc(caption)}</caption>` : ''}<thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

/** A section of the report: a heading, optional prose, then blocks (charts in a grid, tables). */
export interface Section {
  title: string;
  intro?: string;
  /** SVG strings, laid out two to a row on a wide screen. */
  charts?: string[];
  /** HTML blocks (tables, notes) after the charts. */
  blocks?: string[];
}

const CSS = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; margin: 0 auto; max-width: 1180px; padding: 24px 28px 48px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; padding-top: 8px; border-top: 1px solid #ddd; }
.sub { color: #555; margin: 0 0 12px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(440px, 1fr)); gap: 14px 22px; align-items: start; }
figure { margin: 0; overflow-x: auto; }
figure svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: 10px 0 14px; font-size: 13px; }
caption { text-align: left; font-weight: 600; padding-bottom: 4px; }
th, td { border-bottom: 1px solid #e4e4e4; padding: 3px 10px 3px 0; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.flag { color: #b00; font-weight: 600; }
.note { color: #555; font-size: 13px; }
.summary { font-size: 15px; margin: 6px 0 4px; padding-left: 20px; }
.summary li { margin: 4px 0; }
@media print {
  body { max-width: none; padding: 0; font-size: 11px; }
  h2 { break-after: avoid; }
  figure, table { break-inside: avoid; }
  .grid { grid-template-columns: 1fr 1fr; }
}
`;

/** The whole page. */
export function page(title: string, subtitle: string, sections: Section[]): string {
  const body = sections
    .map(
      (s) => `<section>
<h2>${esc(s.title)}</h2>
${s.intro ? `<p class="note">${s.intro}</p>` : ''}
${s.charts?.length ? `<div class="grid">${s.charts.map((c) => `<figure>${c}</figure>`).join('\n')}</div>` : ''}
${(s.blocks ?? []).join('\n')}
</section>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<link rel="icon" href="data:,">
<style>${CSS}</style>
</head>
<body>
<h1>${esc(title)}</h1>
<p class="sub">${subtitle}</p>
${body}
</body>
</html>
`;
}
