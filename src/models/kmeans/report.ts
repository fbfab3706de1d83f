/** The K-Means kind's sections of the model report page: segment sizes, the k sweep, the 2-D map, profiles. */
import { barChart, heatmap, lineChart, renderSvg, scatterChart } from '../../render/charts.js';
import { esc, htmlTable, type Section } from '../../render/html.js';
import type { GroupProfile } from '../profile.js';
import type { Manifest } from '../registry.js';
import { short } from '../report-html.js';
import { fixed, percent } from '../report-text.js';
import type { SegmentMap } from './map.js';

/** The sections of a K-Means model's report page, from its stored metrics. */
export async function kmeansSections(metrics: Record<string, unknown>, m: Manifest): Promise<Section[]> {
  const sizes = (metrics.sizes as number[]) ?? [];
  const total = sizes.reduce((a, b) => a + b, 0) || 1;
  const profiles = (metrics.profiles as GroupProfile[]) ?? [];
  const charts = [await renderSvg(barChart(sizes.map((n, s) => ({ category: `segment ${s}`, series: 'visitors', value: n / total })), { title: 'Segment sizes', x: '', y: 'share of visitors', yFormat: '.0%', labels: '.0%' }))];
  const sweep = metrics.sweep as Array<{ k: number; inertia: number; silhouette: number }> | undefined;
  if (sweep?.length) {
    const ks: [number, number] = [Math.min(...sweep.map((s) => s.k)), Math.max(...sweep.map((s) => s.k))];
    const inertia = sweep.map((s) => s.inertia);
    const sil = sweep.map((s) => s.silhouette);
    charts.push(await renderSvg(lineChart([{ name: 'inertia', points: sweep.map((s) => [s.k, s.inertia]) }], { title: 'k sweep: inertia', x: 'k', y: 'inertia', dots: true, xDomain: ks, xInteger: true, yDomain: [Math.min(...inertia) * 0.95, Math.max(...inertia) * 1.02] })));
    charts.push(await renderSvg(lineChart([{ name: 'silhouette (sampled)', points: sweep.map((s) => [s.k, s.silhouette]) }], { title: `k sweep: silhouette (k=${m.params.k} chosen)`, x: 'k', y: 'silhouette', dots: true, xDomain: ks, xInteger: true, yDomain: [Math.min(0, ...sil), Math.max(...sil) * 1.1] })));
  }
  const map = metrics.map as SegmentMap | undefined;
  if (map) {
    charts.push(
      await renderSvg(
        scatterChart(
          map.points.map(([x, y, s]) => ({ x, y, group: `segment ${s}` })),
          map.centroids.map(([x, y], s) => ({ x, y, label: String(s) })),
          { title: `${map.points.length} visitors on the first two principal components`, x: `PC1 (${percent(map.explained[0], 0)} of variance)`, y: `PC2 (${percent(map.explained[1], 0)})` },
        ),
      ),
    );
  }
  // Columns: the union of each segment's 6 most distinguishing features; each cell from any of
  // the (up to 12) features stored per segment, so most of the grid is filled.
  const columns = [...new Set(profiles.flatMap((p) => p.entries.slice(0, 6).map((e) => e.feature)))];
  const cells = profiles.flatMap((p) =>
    p.entries
      .filter((e) => columns.includes(e.feature))
      .map((e) => ({ row: `segment ${p.group}`, column: e.feature, value: e.score, label: e.kind === 'numeric' ? short(e.value) : percent(e.value, 0) })),
  );
  cells.sort((a, b) => columns.indexOf(a.column) - columns.indexOf(b.column));
  const heat = cells.length ? [await renderSvg(heatmap(cells, { title: "What sets each segment apart: its value (the data's units) coloured by distance from the average", rows: '', columns: '', legend: 'standardized difference' }))] : [];
  return [
    { title: 'Segments', intro: esc(`k=${m.params.k}; inertia ${fixed(metrics.inertia, 1)}, sampled silhouette ${fixed(metrics.silhouette, 3)}; ${metrics.iterations} iterations.`), charts },
    {
      title: 'Segment profiles',
      charts: heat,
      blocks: [htmlTable(profiles.flatMap((p) => p.entries.slice(0, 5).map((e) => ({ segment: p.group, feature: e.feature, segment_value: e.kind === 'numeric' ? short(e.value) : percent(e.value, 0), average: e.kind === 'numeric' ? short(e.population) : percent(e.population, 0) }))), 'Top features per segment')],
    },
  ];
}
