/**
 * The report's opening summary (what the model achieves, from its stored test metrics) and
 * its chart labels, which are drawn whole however long a feature's name is.
 */
import { describe, expect, it } from 'vitest';
import type { CalibrationBin, DecileRow } from '../src/metrics/classification.js';
import { fairnessByGroup, smallGroupsText } from '../src/metrics/fairness.js';
import type { Manifest } from '../src/models/registry.js';
import { barChart, horizontalBars, renderSvg } from '../src/render/charts.js';
import { calibrationText, formatFairness, liftText } from '../src/models/report-text.js';
import { summaryLines } from '../src/report/summary.js';

/** Ten deciles with these lifts over a 10% base rate, 100 rows each. */
function deciles(lifts: number[]): DecileRow[] {
  const positives = lifts.map((l) => l * 10);
  const total = positives.reduce((a, b) => a + b, 0);
  let acc = 0;
  return lifts.map((lift, i) => ({ decile: i + 1, rows: 100, positives: positives[i], rate: lift * 0.1, lift, cumulativeGain: (acc += positives[i]) / total }));
}

const bins: CalibrationBin[] = [
  { from: 0, to: 0.1, rows: 600, meanPredicted: 0.05, observedRate: 0.04 },
  { from: 0.1, to: 0.2, rows: 300, meanPredicted: 0.15, observedRate: 0.18 },
  { from: 0.2, to: 0.3, rows: 0, meanPredicted: NaN, observedRate: NaN },
  { from: 0.9, to: 1, rows: 100, meanPredicted: 0.95, observedRate: 0.8 },
];

describe('the report summary', () => {
  it('lift at 10%: the first decile\'s lift and its rate; what the top 20% hold', () => {
    expect(liftText(deciles([4, 2, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0]))).toBe(
      'Lift at 10%: the top 10% of scores convert at 4.0x the average rate (40.0%); the top 20% hold 60% of all conversions.',
    );
  });

  it('calibration in one line: the row-weighted mean gap (0.6 x 0.01 + 0.3 x 0.03 + 0.1 x 0.15 = 0.030) and the widest bin', () => {
    expect(calibrationText(bins)).toBe(
      'Calibration: predicted probabilities are 0.030 from the observed rates on average (3 bins, weighted by rows); the widest gap is predicted 0.95 vs observed 0.80 (100 rows).',
    );
  });

  it('a propensity model: AUC against the baseline first, then lift and calibration, then fairness', () => {
    const metrics = {
      test: { mlp: { rocAuc: 0.8716, lift: deciles([3, 2, 1, 1, 1, 1, 0.5, 0.25, 0.25, 0]), calibration: bins }, baseline: { rocAuc: 0.8693 } },
      fairness: [{ attribute: 'country', fourFifthsRule: 'met', disparateImpact: 0.91 }],
    };
    const lines = summaryLines({ kind: 'propensity', metrics } as unknown as Manifest);
    expect(lines[0]).toBe('Ranks converters with ROC-AUC 0.872 on the held-out test split, against 0.869 for the logistic baseline (+0.002).');
    expect(lines[1]).toMatch(/^Lift at 10%: the top 10% of scores convert at 3\.0x/);
    expect(lines[2]).toMatch(/^Calibration: /);
    expect(lines[3]).toBe('Fairness by country (test split): four-fifths rule met (lowest selection-rate ratio 0.910).');
  });
});

describe('small groups', () => {
  it('are named with their size under 30 members, and nothing is said when there are none', () => {
    expect(smallGroupsText([{ group: 'US', count: 500 }, { group: 'JP', count: 12 }, { group: '(missing)', count: 29 }])).toBe(
      'Small samples: JP (12), (missing) (29) have under 30 members, too few for their rates and ratios to mean much.',
    );
    expect(smallGroupsText([{ group: 'US', count: 30 }])).toBe('');
  });
  it('are marked in the table printed after training', () => {
    const groups = [...Array(40).fill('US'), ...Array(5).fill('JP')];
    const text = formatFairness([fairnessByGroup('country', groups, groups.map((_, i) => (i % 2 ? 0.9 : 0.1)), 0.5)], 'positives').join('\n');
    expect(text).toMatch(/^JP .* \(small sample\)$/m);
    expect(text).not.toMatch(/^US .*small sample/m);
    expect(text).toContain('Small samples: JP (5) has under 30 members');
  });
});

describe('chart labels', () => {
  const long = 'Administrative_Duration_in_seconds_over_the_whole_session';
  it('a feature name is drawn whole on the influence chart', async () => {
    const svg = await renderSvg(horizontalBars([{ label: long, value: 0.02 }, { label: 'x', value: 0.01 }], { title: 'influence', x: 'AUC lost' }));
    expect(svg).toContain(`>${long}</text>`);
    expect(svg).not.toContain('…');
  });
  it('a group name is drawn whole on a bar chart', async () => {
    const svg = await renderSvg(barChart([{ category: 'Returning_Visitor', series: 's', value: 0.3 }, { category: 'New_Visitor', series: 's', value: 0.1 }], { title: 'rate', x: 'group', y: 'share' }));
    expect(svg).toContain('>Returning_Visitor</text>');
    expect(svg).not.toContain('…');
  });
});
