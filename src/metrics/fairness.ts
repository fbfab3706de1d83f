/**
 * Fairness by group: how a score treats the groups of a sensitive attribute (sex, race, age
 * band...). Per group: the count, mean score, selection rate at the decision threshold,
 * true and false positive rates (equal opportunity and equalized odds: Hardt, Price and
 * Srebro, "Equality of Opportunity in Supervised Learning", NeurIPS 2016), calibration
 * (mean score against the observed rate), and the disparate-impact ratio: the group's
 * selection rate over the highest group's, flagged under 0.8 (the four-fifths rule of the
 * US EEOC's Uniform Guidelines, 29 CFR 1607.4(D)).
 */

export interface GroupFairness {
  group: string;
  count: number;
  meanScore: number;
  /** Share of the group at or above the threshold. */
  selectionRate: number;
  /** Share of the group's positives selected (NaN without labels or positives). */
  tpr: number;
  /** Share of the group's negatives selected (NaN without labels or negatives). */
  fpr: number;
  /** Observed positive rate (NaN without labels): against meanScore, the group's calibration. */
  positiveRate: number;
  /** selectionRate / the highest group's selectionRate. */
  disparateImpact: number;
  /** disparateImpact < 0.8. */
  flagged: boolean;
}

export interface FairnessReport {
  attribute: string;
  threshold: number;
  groups: GroupFairness[];
  /** The lowest group's selection rate over the highest's (1 when all are equal). */
  disparateImpact: number;
  /** 'not applicable' when no group has anyone selected (an empty audience, a threshold above every score). */
  fourFifthsRule: FourFifths;
}

/** The four-fifths rule's ratio. */
export const FOUR_FIFTHS = 0.8;

/** Groups with fewer members than this get a small-sample caveat: their rates move a lot with a few rows. */
export const SMALL_GROUP = 30;

/** The caveat for groups under SMALL_GROUP members, naming them; empty when there are none. */
export function smallGroupsText(groups: Array<{ group: string; count: number }>): string {
  const small = groups.filter((g) => g.count < SMALL_GROUP);
  if (!small.length) return '';
  const names = small.map((g) => `${g.group} (${g.count})`).join(', ');
  return `Small samples: ${names} ${small.length === 1 ? 'has' : 'have'} under ${SMALL_GROUP} members, too few for their rates and ratios to mean much.`;
}

/** Missing values of the attribute form their own group, named so. */
export const MISSING_GROUP = '(missing)';

/**
 * Fairness of `scores` (probabilities or values, one per row) across the groups of
 * `attribute` (one value per row; null is the group "(missing)"), selecting rows with
 * score >= threshold. Labels (1/0, same length; any other value: unknown, counted in the
 * selection rate only) give the error rates and calibration.
 * Groups are ordered by count, largest first.
 * @throws Error when the lengths differ.
 */
export function fairnessByGroup(attribute: string, groups: ArrayLike<string | null>, scores: ArrayLike<number>, threshold: number, labels?: ArrayLike<number>): FairnessReport {
  if (groups.length !== scores.length || (labels && labels.length !== scores.length)) {
    throw new Error(`fairness: ${groups.length} group values, ${scores.length} scores${labels ? `, ${labels.length} labels` : ''}`);
  }
  const acc = new Map<string, { n: number; sum: number; sel: number; pos: number; tp: number; neg: number; fp: number }>();
  for (let i = 0; i < scores.length; i++) {
    const g = groups[i] ?? MISSING_GROUP;
    let a = acc.get(g);
    if (!a) acc.set(g, (a = { n: 0, sum: 0, sel: 0, pos: 0, tp: 0, neg: 0, fp: 0 }));
    const selected = scores[i] >= threshold ? 1 : 0;
    a.n++;
    a.sum += scores[i];
    a.sel += selected;
    if (labels && (labels[i] === 0 || labels[i] === 1)) {
      if (labels[i] === 1) {
        a.pos++;
        a.tp += selected;
      } else {
        a.neg++;
        a.fp += selected;
      }
    }
  }
  const rows = [...acc.entries()].map(([group, a]) => ({
    group,
    count: a.n,
    meanScore: a.sum / a.n,
    selectionRate: a.sel / a.n,
    tpr: labels && a.pos ? a.tp / a.pos : NaN,
    fpr: labels && a.neg ? a.fp / a.neg : NaN,
    positiveRate: labels && a.pos + a.neg ? a.pos / (a.pos + a.neg) : NaN,
  }));
  return { attribute, threshold, ...withDisparateImpact(rows) };
}

/** The four-fifths rule's verdict; 'not applicable' when nobody is selected. */
export type FourFifths = 'met' | 'not met' | 'not applicable';

/** Each group's selection rate over the highest group's, flagged under 0.8; groups by count, largest first. */
function withDisparateImpact<T extends { group: string; count: number; selectionRate: number }>(rows: T[]) {
  const top = Math.max(0, ...rows.map((r) => r.selectionRate));
  const groups = rows
    .map((r) => {
      const ratio = top > 0 ? r.selectionRate / top : 1;
      return { ...r, disparateImpact: ratio, flagged: ratio < FOUR_FIFTHS };
    })
    .sort((a, b) => b.count - a.count || a.group.localeCompare(b.group));
  const lowest = Math.min(1, ...groups.map((r) => r.disparateImpact));
  const verdict: FourFifths = top === 0 ? 'not applicable' : lowest < FOUR_FIFTHS ? 'not met' : 'met';
  return { groups, disparateImpact: lowest, fourFifthsRule: verdict };
}

/** An audience's selection by the groups of one attribute: how many of each group it takes. */
export interface SelectionByGroup {
  attribute: string;
  groups: Array<{ group: string; count: number; selected: number; selectionRate: number; disparateImpact: number; flagged: boolean }>;
  disparateImpact: number;
  /** 'not applicable' when no group has anyone selected (an empty audience, a threshold above every score). */
  fourFifthsRule: FourFifths;
  /**
   * The audience's own rules (its rule, suppression rule, or an audience it suppresses) read
   * this attribute, so a disparity follows from the definition itself (set by the caller).
   */
  byRule?: boolean;
}

/**
 * Selection rates by group from counts (group size, members selected), with the
 * disparate-impact ratio and the four-fifths rule as in fairnessByGroup.
 */
export function selectionByGroup(attribute: string, counts: Array<{ group: string; count: number; selected: number }>): SelectionByGroup {
  return { attribute, ...withDisparateImpact(counts.map((c) => ({ ...c, selectionRate: c.count ? c.selected / c.count : 0 }))) };
}
