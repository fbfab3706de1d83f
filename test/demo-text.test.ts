/**
 * What the demo prints around the commands: a line a user can paste into a shell and get the
 * same arguments back, the audience files a run really wrote, and the four-fifths verdict
 * that says when a disparity follows from the audience's own rules.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { audienceFilesText, shellLine } from '../src/cli/demo-text.js';
import { selectionByGroup } from '../src/metrics/fairness.js';
import { formatAudiences, fourFifthsText } from '../src/report/text.js';

/** The arguments a POSIX shell makes of `line`. */
function shellArgs(line: string): string[] {
  const r = spawnSync('sh', ['-c', `for a in ${line}; do printf '%s\\0' "$a"; done`], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\0').slice(0, -1);
}

describe('the demo: command lines to paste', () => {
  it('quotes what a shell would split or expand, and the shell gives the same arguments back', () => {
    const argv = ['train', 'lookalike', '--seed-filter', 'Revenue = true', '--input', '/data/a b.csv', '--rule', "it's > 5%", '--input', 'v*.parquet', '--name', 'demo-lookalike'];
    const line = shellLine(argv);
    expect(line).toContain("--seed-filter 'Revenue = true'");
    expect(line).toContain('--name demo-lookalike');
    // Run in an empty folder, so an unquoted glob would not match anything else either.
    const cwd = process.cwd();
    process.chdir(fs.mkdtempSync(path.join(os.tmpdir(), 'ae-shell-')));
    try {
      fs.writeFileSync('v1.parquet', '');
      expect(shellArgs(line)).toEqual(argv);
    } finally {
      process.chdir(cwd);
    }
  });

  it('plain words stay as they are', () => {
    expect(shellLine(['score', '--model', 'demo@2', '--k', '3..8', '--output', 'out/demo/scores'])).toBe('score --model demo@2 --k 3..8 --output out/demo/scores');
  });
});

describe('the demo: the files it says were written', () => {
  it('lists the files the audience summary records, and no activation file when none was written', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-demo-'));
    fs.mkdirSync(path.join(dir, 'audiences'));
    const files = (name: string, extra: string[] = []) =>
      Object.fromEntries(['members.parquet', 'members.csv', 'holdout.csv', ...extra].map((f) => [f, path.join('audiences', name, f)]));
    const write = (summaries: unknown[]) => fs.writeFileSync(path.join(dir, 'audiences', 'summary.json'), JSON.stringify({ summaries, overlap: [] }));
    write([{ files: files('a') }, { files: files('b') }]);
    expect(audienceFilesText(dir)).toBe('audiences/<name>/members.parquet, members.csv, holdout.csv; audiences/summary.json');
    write([{ files: files('a', ['activation-google.csv']) }]);
    expect(audienceFilesText(dir)).toBe('audiences/<name>/members.parquet, members.csv, holdout.csv, activation-google.csv; audiences/summary.json');
    expect(audienceFilesText(path.join(dir, 'none'))).toBe('');
  });
});

describe('four-fifths verdict on an audience', () => {
  const counts = [
    { group: 'New_Visitor', count: 100, selected: 20 },
    { group: 'Returning_Visitor', count: 500, selected: 0 },
  ];
  it('says the disparity is by design when the audience\'s rules select on the column', () => {
    expect(fourFifthsText({ ...selectionByGroup('VisitorType', counts), byRule: true })).toBe('four-fifths rule not met, by design: its rules select on VisitorType itself');
  });
  it('flags it plainly otherwise', () => {
    expect(fourFifthsText(selectionByGroup('VisitorType', counts))).toBe('four-fifths rule not met');
    expect(fourFifthsText(selectionByGroup('VisitorType', [{ group: 'a', count: 10, selected: 5 }]))).toBe('four-fifths rule met');
  });
  it('an audience with no members meets nothing: the rule does not apply', () => {
    const none = selectionByGroup('device', [{ group: 'mobile', count: 10, selected: 0 }, { group: 'tv', count: 5, selected: 0 }]);
    expect(none.fourFifthsRule).toBe('not applicable');
    expect(fourFifthsText(none)).toBe('four-fifths rule not applicable: no members in any group');
  });
  it('the printed line keeps every flagged group and the highest, however many groups there are, with ratios to 3 places', () => {
    // 12 countries by size; the small ones are the flagged ones (once left out past the 8 largest), ES just under 0.8.
    const sizes = [900, 800, 700, 600, 500, 400, 300, 250, 200, 150, 100, 90];
    const rates = [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.07985, 0.1, 0.036, 0.034, 0.1];
    const names = ['US', 'GB', 'DE', 'FR', 'IT', 'CA', 'BR', 'ES', 'MX', 'AU', 'NL', 'IN'];
    const f = selectionByGroup('country', names.map((group, i) => ({ group, count: sizes[i], selected: Math.round(rates[i] * sizes[i] * 100) / 100 })));
    const line = formatAudiences({ summaries: [{ name: 'a', members: 1, holdout: 0, share: 0.1, rule: 'x', removed: {}, means: {}, segmentMix: {}, activation: { rows: 0, emails: 0, phones: 0, invalidEmails: 0, invalidPhones: 0 }, files: {}, fairness: [f] } as never], overlap: [] }).split('\n')[1];
    expect(line).toMatch(/^ {2}members by country \(four-fifths rule not met\): /);
    for (const flagged of ['ES 8.0% of 250 (ratio 0.798 < 0.8)', 'AU 3.6% of 150 (ratio 0.360 < 0.8)', 'NL 3.4% of 100 (ratio 0.340 < 0.8)']) expect(line).toContain(flagged);
    expect(line).toContain('US 10.0% of 900 (highest)');
    expect(line).toMatch(/, and 4 more groups, none under 0\.8 \(audiences\/summary\.json has them all\)$/);
  });
});
