/**
 * The model report in a real headless browser (Debian's chromium through playwright-core):
 * for each kind, the page loads without console errors, every chart has marks drawn (counted
 * in Vega's SVG), and a full-page screenshot is written to test-output/ for a person to look
 * at. The service serves the same page; fairness from --input matches the library's numbers.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../src/io/duckdb.js';
import { runMain } from './helpers.js';
import { startServer } from './service-helpers.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
const SHOTS = path.resolve('test-output');
let dir: string;

/** Runs `audience ...` in this process (a spawn costs ~2 s of start-up each); file names are in `dir`. */
async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const argv = args.map((a) => (/^[\w-]+\.(csv|parquet|html)$/.test(a) ? path.join(dir, a) : a));
  return runMain([...argv, ...(['generate', 'events'].includes(args[0]) ? [] : ['--store', path.join(dir, 'models')])]);
}

async function cli(...args: string[]) {
  const r = await run(...args);
  expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r;
}

/** Opens a page in chromium: console errors, the data marks of each chart, a screenshot. */
async function inBrowser(url: string, shot: string) {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(e.message));
    const res = await page.goto(url);
    expect(res?.ok()).toBe(true);
    // Vega draws data marks in <g class="... role-mark ..."> groups; axes and legends are other roles.
    const charts = await page.$$eval('figure svg', (svgs) =>
      svgs.map((svg) => ({
        title: svg.querySelector('.role-title-text')?.textContent ?? '',
        marks: [...svg.querySelectorAll('g.role-mark')].reduce((n, g) => n + g.querySelectorAll(':scope > path, :scope > text, :scope > line, :scope > rect, :scope > circle').length, 0),
      })),
    );
    fs.mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, shot), fullPage: true });
    return { errors, charts, html: await page.content() };
  } finally {
    await browser.close();
  }
}

describe.skipIf(!CHROMIUM)('the model report in a headless browser', () => {
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-report-'));
    await cli('generate', '--visitors', '8000', '--out', 'v.csv', '--seed', '4');
    const exclude = ['--exclude', 'true_segment,email', '--quiet', '--seed', '1'];
    await cli('train', 'kmeans', '--input', 'v.csv', '--k', '3..4', '--name', 'seg', '--exclude', 'converted,true_segment,email', '--quiet');
    await cli('train', 'propensity', '--input', 'v.csv', '--label', 'converted', '--name', 'buy', '--max-epochs', '3', '--sensitive', 'channel', ...exclude);
    await cli('train', 'lookalike', '--input', 'v.csv', '--seed-filter', 'converted = 1', '--name', 'like', ...exclude.filter((a) => a !== '--seed' && a !== '1'));
    await cli('train', 'anomaly', '--input', 'v.csv', '--name', 'odd', '--exclude', 'converted,true_segment,email', '--quiet');
    await cli('generate', '--events', '--customers', '2000', '--seed', '7', '--out', 'events.csv');
    await cli('events', '--input', 'events.csv', '--id', 'customer_id', '--time', 'date', '--amount', 'amount', '--as-of', '2025-01-01', '--horizon', '90d', '--out', 'train.parquet');
    await cli('train', 'cltv', '--input', 'train.parquet', '--label', 'future_value', '--name', 'value', '--max-epochs', '3', '--quiet');
  }, 600_000);

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  // Charts each kind must draw, by title (a prefix), with at least this many data marks.
  const expected: Record<string, Array<[RegExp, number]>> = {
    seg: [[/^Segment sizes/, 3], [/^k sweep: inertia/, 2], [/^k sweep: silhouette/, 2], [/visitors on the first two principal components/, 1000], [/^What sets each segment apart/, 9]],
    buy: [[/^ROC/, 2], [/^Precision-recall/, 2], [/^Lift by decile/, 20], [/^Cumulative gains/, 2], [/^Calibration \(reliability\)/, 2], [/^Scores by class/, 20], [/^Confusion/, 8], [/^Feature influence/, 5], [/^Training/, 2], [/^Selection rate by channel/, 6], [/^Calibration by channel/, 12]],
    like: [[/^Held-out seeds found/, 3], [/^Similarity: held-out seeds/, 20]],
    odd: [[/^Outlier score/, 10]],
    value: [[/^Who buys: ROC/, 2], [/^Who buys: precision-recall/, 2], [/^Predicted value by outcome/, 10], [/^Value by decile/, 20], [/^Cumulative value captured/, 1], [/^Training/, 2]],
  };

  for (const [model, charts] of Object.entries(expected)) {
    it(`${model}: renders without console errors, every chart drawn`, async () => {
      await cli('report', model, '--out', `${model}.html`);
      const { errors, charts: drawn } = await inBrowser(`file://${path.join(dir, `${model}.html`)}`, `report-${model}.png`);
      expect(errors).toEqual([]);
      // What the model achieves comes first, the inputs and parameters last; no label is cut.
      const html = fs.readFileSync(path.join(dir, `${model}.html`), 'utf8');
      const headings = [...html.matchAll(/<h2>([^<]*)<\/h2>/g)].map((h) => h[1]);
      expect(headings[0]).toBe('Summary');
      expect(headings[headings.length - 1]).toBe('Inputs and parameters');
      expect(html).not.toContain('…');
      if (model === 'buy') {
        expect(html).toMatch(/<li>Ranks converters with ROC-AUC 0\.\d{3} on the held-out test split, against 0\.\d{3} for the logistic baseline \([+-]0\.\d{3}\)\.<\/li><li>Lift at 10%: /);
        expect(html).toMatch(/<li>Calibration: predicted probabilities are 0\.\d{3} from the observed rates on average/);
      }
      for (const c of drawn) expect(c.marks, `chart "${c.title}" has no marks`).toBeGreaterThan(0);
      for (const [title, min] of charts) {
        const chart = drawn.find((c) => title.test(c.title));
        expect(chart, `no chart titled ${title} in ${drawn.map((c) => c.title).join(' | ')}`).toBeDefined();
        expect(chart!.marks, `${chart!.title}`).toBeGreaterThanOrEqual(min);
      }
    }, 120_000);
  }

  it('fairness from --input --sensitive: the page shows the groups the CLI measured; the four-fifths flag', async () => {
    await cli('report', 'buy', '--out', 'buy-fair.html', '--input', 'v.csv', '--sensitive', 'device');
    const html = fs.readFileSync(path.join(dir, 'buy-fair.html'), 'utf8');
    expect(html).toContain('Fairness by channel'); // stored at training, test split
    expect(html).toContain('Fairness by device'); // measured on v.csv
    expect(html).toMatch(/Measured on \S*v\.csv \(if these are the training data, the rows the model learned from are counted too\): selected means score &gt;= /);
    // Every device group's count adds up to the file's rows.
    const section = html.slice(html.indexOf('Fairness by device'));
    const table = section.slice(section.indexOf('<table>'), section.indexOf('</table>'));
    const counts = [...table.matchAll(/<tr><td>[^<]+<\/td><td class="num">(\d+)<\/td>/g)].map((m) => Number(m[1]));
    expect(counts.length).toBeGreaterThanOrEqual(2);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(8000);
    const bad = await run('report', 'seg', '--input', 'v.csv', '--sensitive', 'device');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/fairness is measured for propensity and cltv models; seg@1 is kmeans/);
  }, 120_000);

  it('small groups get a caveat in the page', async () => {
    // The first 150 visitors: a dozen countries, most of them with under 30.
    const lines = fs.readFileSync(path.join(dir, 'v.csv'), 'utf8').split('\n');
    fs.writeFileSync(path.join(dir, 'few.csv'), `${lines.slice(0, 151).join('\n')}\n`);
    await cli('report', 'buy', '--out', 'buy-few.html', '--input', 'few.csv', '--sensitive', 'country');
    const html = fs.readFileSync(path.join(dir, 'buy-few.html'), 'utf8');
    const section = html.slice(html.indexOf('Fairness by country'));
    expect(section).toMatch(/Small samples: [^<]*\(\d+\)[^<]* have under 30 members, too few for their rates and ratios to mean much\./);
    expect(section).toContain('(under 30 members: a small sample)');
  }, 120_000);

  it('scoring with audiences: each audience\'s members by the groups of the sensitive column, as a join of input and output counts them', async () => {
    fs.writeFileSync(
      path.join(dir, 'hot.json'),
      JSON.stringify({ audiences: [{ name: 'hot', rule: 'buy.score >= 40', holdout: 0.1 }, { name: 'by_email', rule: 'channel = "email"' }, { name: 'not_email', rule: 'buy.score >= 0', suppress: { audiences: ['by_email'] } }] }),
    );
    const scored = await cli('score', '--input', 'v.csv', '--model', 'buy', '--audiences', path.join(dir, 'hot.json'), '--output', path.join(dir, 'scored'), '--quiet');
    const [summary, byEmail, notEmail] = JSON.parse(fs.readFileSync(path.join(dir, 'scored', 'audiences', 'summary.json'), 'utf8')).summaries;
    // A rule that selects on the sensitive column (or suppresses an audience that does) makes the disparity by design, and says so.
    for (const a of [byEmail, notEmail]) expect(a.fairness[0]).toMatchObject({ attribute: 'channel', fourFifthsRule: 'not met', byRule: true });
    expect(summary.fairness[0].byRule).toBeUndefined();
    expect(scored.stdout).toMatch(/members by channel \(four-fifths rule not met, by design: its rules select on channel itself\)/);
    const [byChannel] = summary.fairness;
    expect(byChannel.attribute).toBe('channel');
    const con = await connect();
    try {
      const r = await con.runAndReadAll(
        `SELECT coalesce(v.channel, '(missing)') AS g, count(*) AS n, count(*) FILTER (WHERE s.aud_hot = 'member') AS m
         FROM read_csv($1) v JOIN read_parquet($2) s ON CAST(v.visitor_id AS VARCHAR) = CAST(s.visitor_id AS VARCHAR) GROUP BY 1`,
        [path.join(dir, 'v.csv'), path.join(dir, 'scored', '*.parquet')],
      );
      const expected = new Map(r.getRows().map(([g, n, m]) => [String(g), { count: Number(n), selected: Number(m) }]));
      expect(byChannel.groups.length).toBe(expected.size);
      for (const g of byChannel.groups) {
        expect({ count: g.count, selected: g.selected }, g.group).toEqual(expected.get(g.group));
        expect(g.selectionRate).toBeCloseTo(g.selected / g.count, 12);
      }
      const top = Math.max(...byChannel.groups.map((g: { selectionRate: number }) => g.selectionRate));
      for (const g of byChannel.groups) expect(g.flagged).toBe(g.selectionRate / top < 0.8);
      expect(byChannel.groups.reduce((a: number, g: { selected: number }) => a + g.selected, 0)).toBe(summary.members);
    } finally {
      con.closeSync();
    }
  }, 120_000);

  it('the service serves the same page as text/html; unknown models and versions are 404', async () => {
    const server = await startServer(['--data-root', dir, '--data-dir', path.join(dir, 'data'), '--store', path.join(dir, 'models')]);
    try {
      const page = await server.request('GET', '/v1/models/seg/report');
      expect(page.status).toBe(200);
      expect(page.text).toMatch(/^<!doctype html>/);
      const one = await server.request('GET', '/v1/models/buy/1/report');
      expect(one.status).toBe(200);
      expect((await fetch(`${server.url}/v1/models/buy/1/report`)).headers.get('content-type')).toMatch(/^text\/html/);
      const { errors, charts } = await inBrowser(`${server.url}/v1/models/buy/1/report`, 'report-buy-service.png');
      expect(errors).toEqual([]);
      expect(charts.length).toBeGreaterThanOrEqual(10);
      expect((await server.request('GET', '/v1/models/nope/report')).status).toBe(404);
      const missing = await server.request('GET', '/v1/models/buy/9/report');
      expect(missing.status).toBe(404);
      expect(missing.body.message).toMatch(/model "buy" has no version 9 \(versions: 1\)/);
    } finally {
      await server.stop();
    }
  }, 120_000);
});
