/**
 * Builds audiences from scored parts: rules select candidates, suppressions remove (an id
 * list, a rule, earlier audiences), a cap keeps the best by a score, and a random holdout
 * (a hash of the id, so stable across runs) is set aside for measurement. Then the parts get
 * a membership column per audience, and each audience gets its files: ids as Parquet and
 * CSV, the holdout's ids, and a hashed-identifier export for ad platforms.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ColumnBatch } from '../io/columns.js';
import { addColumns, readParts } from '../io/rewrite.js';
import { openTable } from '../io/table.js';
import { FileWriter, type OutputColumn, type OutputData, type WrittenFile } from '../io/writer.js';
import type { ScoringModel } from '../models/model.js';
import type { ProfileEntry } from '../models/profile.js';
import { UserError } from '../util/errors.js';
import type { AudienceSet } from './definition.js';
import { canonicalId, ID_MATCH_MIN_SHARE, matchText } from '../io/ids.js';
import { warn } from '../util/warn.js';
import { identifierText, normalizeEmail, normalizePhone, phoneForPlatform, sha256Hex } from './identifiers.js';
import { compile, references, type Rule } from './rules.js';

export interface AudienceSummary {
  name: string;
  rule: string;
  members: number;
  holdout: number;
  /** Members and holdout, as a share of all scored visitors. */
  share: number;
  removed: { suppressedIds: number; suppressedRule: number; suppressedAudiences: number; capped: number; duplicateIds: number };
  /** The suppression id list: its distinct ids, and how many of them are scored visitors. */
  suppressList?: { file: string; ids: number; matched: number };
  /** Mean of each propensity probability among members. */
  means: Record<string, number>;
  /** Share of members per segment, for each segment output. */
  segmentMix: Record<string, Record<string, number>>;
  /**
   * Activation export: members with at least one valid identifier (rows), the hashed emails
   * and phones, and the members whose identifier was present but invalid (dropped, never hashed).
   */
  activation: { rows: number; emails: number; phones: number; invalidEmails: number; invalidPhones: number };
  files: Record<string, string>;
  /** Most distinguishing features of the audience vs all visitors (filled in by the caller). */
  profile?: ProfileEntry[];
}

export interface AudiencesResult {
  summaries: AudienceSummary[];
  /** Per audience, per scored row: 0 out, 1 member, 2 holdout. */
  membership: Uint8Array[];
  /** Visitors in both audiences (members or holdout), by pair. */
  overlap: Array<{ a: string; b: string; both: number }>;
  columns: OutputColumn[];
}

/** Maps a rule reference to a score-file column: `model.output` (model name, or a unique kind) or an input column. */
export function referenceResolver(models: ScoringModel[]) {
  return (ref: string): { column: string; fromModel: boolean } => {
    const dot = ref.indexOf('.');
    if (dot > 0) {
      const prefix = ref.slice(0, dot);
      const output = ref.slice(dot + 1);
      const byName = models.find((m) => m.manifest.name === prefix);
      const byKind = models.filter((m) => m.manifest.kind === prefix);
      if (!byName && byKind.length > 1) {
        throw new UserError(`"${ref}": several ${prefix} models are scored (${byKind.map((m) => m.manifest.name).join(', ')}); name one, e.g. ${byKind[0].manifest.name}.${output}`);
      }
      const model = byName ?? byKind[0];
      if (model) return { column: `${model.manifest.name}_${output}`, fromModel: true };
    }
    return { column: ref, fromModel: false };
  };
}

/** Input columns the audiences read (attributes in rules, identifiers): scoring must carry them. */
export function audienceInputs(set: AudienceSet, models: ScoringModel[]): string[] {
  const resolve = referenceResolver(models);
  const cols = new Set<string>();
  for (const a of set.audiences) {
    for (const rule of [a.rule, a.suppress.rule].filter(Boolean) as Rule[]) {
      for (const ref of references(rule)) {
        const r = resolve(ref);
        if (!r.fromModel) cols.add(r.column);
      }
    }
  }
  for (const k of ['email', 'phone'] as const) if (set.identifiers[k]) cols.add(set.identifiers[k]!);
  return [...cols];
}

/** Every model reference of the rules names an output the run will write (`columns`); fails with the audience's name. */
export function checkModelReferences(set: AudienceSet, models: ScoringModel[], columns: string[]): void {
  const resolve = referenceResolver(models);
  for (const a of set.audiences) {
    for (const rule of [a.rule, a.suppress.rule].filter(Boolean) as Rule[]) {
      for (const ref of references(rule)) {
        const r = resolve(ref);
        if (!r.fromModel || columns.includes(r.column)) continue;
        const prefix = r.column.slice(0, r.column.length - ref.length + ref.indexOf('.') + 1);
        const outputs = columns.filter((c) => c.startsWith(prefix)).map((c) => c.slice(prefix.length));
        throw new UserError(`audience "${a.name}": "${ref}" is not a score of this run (that model has: ${outputs.join(', ')})`);
      }
    }
  }
}

/** A stable pseudo-random number in [0, 1) from the id: the holdout draw. */
function holdoutDraw(seed: number, audience: string, id: string): number {
  return parseInt(sha256Hex(`${seed}:${audience}:${id}`).slice(0, 8), 16) / 2 ** 32;
}

/** The canonical ids of an id list's first column (see io/ids.ts). */
async function readIdList(file: string): Promise<Set<string>> {
  const table = await openTable(file);
  const column = table.columns[0];
  const ids = new Set<string>();
  for await (const b of table.read([{ name: column.name, as: 'text' }])) {
    for (const v of b.columns.get(column.name) as (string | null)[]) {
      const id = canonicalId(v);
      if (id !== null) ids.add(id);
    }
  }
  return ids;
}

function valueAt(batch: ColumnBatch, column: string, i: number): number | string | null {
  const c = batch.columns.get(column);
  if (!c) return null;
  const v = c[i];
  return typeof v === 'bigint' ? Number(v) : (v as number | string | null);
}

/**
 * Builds every audience of `set` from the scored parts (`files`, in row order, `rows` in all):
 * rule candidates, then in order the id-list suppression (ids compared by value), the rule
 * suppression, one row per id, earlier audiences, the cap (best by a score, ties by row
 * order), and the holdout drawn from a hash of the id; adds `aud_<name>` to every part and
 * writes each audience's member, holdout and per-platform activation files.
 * @returns summaries (sizes, removals, means, segment mix, activation counts), membership per
 *   row (0 out, 1 member, 2 holdout) and pairwise overlaps.
 * @throws UserError naming the audience when a rule refers to something the run lacks.
 */
export async function buildAudiences(opts: {
  dir: string;
  files: WrittenFile[];
  columns: OutputColumn[];
  models: ScoringModel[];
  set: AudienceSet;
  idColumn: string;
  rows: number;
  /** Ranked visitors per rank column, when the caller knows them (saves a pass over the parts). */
  rankCounts?: Map<string, number>;
}): Promise<AudiencesResult> {
  const { set, files, columns, rows, idColumn } = opts;
  const resolve = referenceResolver(opts.models);
  const known = new Set(columns.map((c) => c.name));
  const column = (ref: string, where: string): string => {
    const { column: c, fromModel } = resolve(ref);
    if (!known.has(c)) {
      const outputs = columns.filter((x) => fromModel && x.name.startsWith(c.slice(0, c.lastIndexOf('_') + 1))).map((x) => x.name);
      throw new UserError(
        `${where}: "${ref}" is not a score or column of this run` +
          (outputs.length ? ` (that model has: ${outputs.map((o) => o.slice(o.lastIndexOf('_') + 1)).join(', ')})` : ` (columns: ${columns.map((x) => x.name).join(', ')})`),
      );
    }
    return c;
  };
  const typeOf = (c: string) => columns.find((x) => x.name === c)!.type;

  // Columns read back, and ranked-population sizes for `rank <= N%`.
  const needed = new Set<string>([idColumn]);
  const plans = set.audiences.map((a) => {
    const where = `audience "${a.name}"`;
    const refs = [a.rule, a.suppress.rule].filter(Boolean).flatMap((r) => references(r!));
    for (const r of refs) needed.add(column(r, where));
    let by: string | undefined;
    if (a.cap) {
      const byRef = a.cap.by ?? references(a.rule).find((r) => resolve(r).fromModel);
      if (!byRef) throw new UserError(`${where}: "cap" needs "by" (a score to keep the best by), since the rule uses no score`);
      by = column(byRef, `${where}: cap.by`);
      if (typeOf(by) === 'VARCHAR') throw new UserError(`${where}: cap.by "${byRef}" is not numeric`);
      needed.add(by);
    }
    return { a, by };
  });
  const readCols = columns.filter((c) => needed.has(c.name));
  const rankBase = new Map<string, number>();
  for (const a of set.audiences) {
    for (const r of references(a.rule)) {
      const c = column(r, `audience "${a.name}"`);
      if (/_rank$/.test(c) && !rankBase.has(c)) rankBase.set(c, 0);
    }
  }
  const uncounted = [...rankBase.keys()].filter((c) => !opts.rankCounts?.has(c));
  for (const c of rankBase.keys()) if (opts.rankCounts?.has(c)) rankBase.set(c, opts.rankCounts.get(c)!);
  if (uncounted.length) {
    for await (const { batch } of readParts(files, readCols)) {
      for (const c of uncounted) {
        const v = batch.columns.get(c) as Float64Array;
        let n = 0;
        for (let i = 0; i < batch.rows; i++) if (!Number.isNaN(v[i])) n++;
        rankBase.set(c, rankBase.get(c)! + n);
      }
    }
  }

  const refColumn = new Map<string, string>();
  for (const a of set.audiences) for (const r of [a.rule, a.suppress.rule].filter(Boolean).flatMap((x) => references(x!))) refColumn.set(r, column(r, `audience "${a.name}"`));

  // Pass A: candidates per audience.
  const suppressIds = await Promise.all(set.audiences.map((a) => (a.suppress.ids ? readIdList(a.suppress.ids) : Promise.resolve(undefined))));
  const candidates = set.audiences.map(() => ({ rows: [] as number[], by: [] as number[], suppressedIds: 0, suppressedRule: 0, duplicateIds: 0, seen: new Set<string>() }));
  const listMatched = suppressIds.map((l) => (l ? new Set<string>() : undefined));
  for await (const { batch, first } of readParts(files, readCols)) {
    const ids = batch.columns.get(idColumn) as BigInt64Array | (string | null)[];
    const idAt = (i: number) => canonicalId(ids[i]) ?? '';
    suppressIds.forEach((list, k) => {
      if (!list) return;
      for (let i = 0; i < batch.rows; i++) if (list.has(idAt(i))) listMatched[k]!.add(idAt(i));
    });
    const get = (ref: string, i: number) => valueAt(batch, refColumn.get(ref)!, i);
    const base = (ref: string) => rankBase.get(refColumn.get(ref)!) ?? 0;
    const float32 = (ref: string) => typeOf(refColumn.get(ref)!) === 'FLOAT';
    plans.forEach(({ a, by }, k) => {
      const select = compile(a.rule, get, base, float32);
      const suppress = a.suppress.rule ? compile(a.suppress.rule, get, base, float32) : undefined;
      const c = candidates[k];
      for (let i = 0; i < batch.rows; i++) {
        if (!select(i)) continue;
        const id = idAt(i);
        if (suppressIds[k]?.has(id)) {
          c.suppressedIds++;
          continue;
        }
        if (suppress?.(i)) {
          c.suppressedRule++;
          continue;
        }
        // An audience lists each visitor once: a repeated id keeps its first row.
        if (c.seen.has(id)) {
          c.duplicateIds++;
          continue;
        }
        c.seen.add(id);
        c.rows.push(first + i);
        if (by) c.by.push(Number(valueAt(batch, by, i)));
      }
    });
  }

  const suppressLists = set.audiences.map((a, k) => {
    if (!a.suppress.ids) return undefined;
    const list = { file: a.suppress.ids, ids: suppressIds[k]!.size, matched: listMatched[k]!.size };
    if (list.matched < ID_MATCH_MIN_SHARE * list.ids) {
      warn(`audience "${a.name}": suppress.ids ${list.file}: only ${matchText(list.matched, list.ids)} are scored visitors; check that the list holds the same ids as the "${idColumn}" column`);
    }
    return list;
  });
  for (const [k, a] of set.audiences.entries()) {
    if (candidates[k].duplicateIds) warn(`audience "${a.name}": ${candidates[k].duplicateIds} rows repeat an id already in the audience; each id is listed once`);
    candidates[k].seen.clear();
  }

  // Audience suppressions, caps, holdout flags (drawn in pass B from the id), in definition order.
  const status: Uint8Array[] = []; // 0 out, 1 member, 2 holdout (assigned in pass B)
  const removed = plans.map(() => ({ suppressedAudiences: 0, capped: 0 }));
  plans.forEach(({ a, by }, k) => {
    let rowsK = candidates[k].rows;
    let byK = candidates[k].by;
    if (a.suppress.audiences.length) {
      const others = a.suppress.audiences.map((n) => status[set.audiences.findIndex((x) => x.name === n)]);
      const keep = rowsK.map((r) => !others.some((o) => o[r] > 0));
      removed[k].suppressedAudiences = keep.filter((x) => !x).length;
      rowsK = rowsK.filter((_, i) => keep[i]);
      byK = by ? byK.filter((_, i) => keep[i]) : byK;
    }
    if (a.cap && rowsK.length > a.cap.size) {
      const order = rowsK.map((_, i) => i).sort((x, y) => (byK[y] || -Infinity) - (byK[x] || -Infinity) || rowsK[x] - rowsK[y]);
      removed[k].capped = rowsK.length - a.cap.size;
      rowsK = order.slice(0, a.cap.size).map((i) => rowsK[i]);
    }
    const s = new Uint8Array(rows);
    for (const r of rowsK) s[r] = 1;
    status.push(s);
  });

  // Pass B: holdout draw, membership columns, per-audience files and statistics.
  const { email, phone, defaultCountryCode } = set.identifiers;
  for (const c of [email, phone]) if (c && !known.has(c)) throw new UserError(`identifiers: column "${c}" was not carried into the scores`);
  const idType = columns.find((c) => c.name === idColumn)!.type;
  const audDir = path.join(opts.dir, 'audiences');
  fs.rmSync(audDir, { recursive: true, force: true });
  const writers = set.audiences.map((a) => {
    const d = path.join(audDir, a.name);
    fs.mkdirSync(d, { recursive: true });
    const idCol = [{ name: idColumn, type: idType }];
    return {
      members: new FileWriter(path.join(d, 'members.parquet'), idCol),
      membersCsv: new FileWriter(path.join(d, 'members.csv'), idCol),
      holdout: new FileWriter(path.join(d, 'holdout.csv'), idCol),
      ...(email || phone
        ? Object.fromEntries(
            set.platforms.map((p) => [
              `activation-${p}`,
              new FileWriter(path.join(d, `activation-${p}.csv`), [
                { name: 'email_sha256', type: 'VARCHAR' },
                { name: 'phone_sha256', type: 'VARCHAR' },
              ]),
            ]),
          )
        : {}),
    } as Record<string, FileWriter>;
  });
  const probColumns = columns.filter((c) => c.name.endsWith('_probability')).map((c) => c.name);
  const segColumns = columns.filter((c) => c.name.endsWith('_segment')).map((c) => c.name);
  const stats = set.audiences.map(() => ({
    members: 0,
    holdout: 0,
    sums: new Map<string, number>(),
    mix: new Map<string, Map<string, number>>(),
    activation: { rows: 0, emails: 0, phones: 0, invalidEmails: 0, invalidPhones: 0 },
  }));
  const added = set.audiences.map((a) => ({ name: `aud_${a.name}`, type: 'VARCHAR' as const }));

  const allColumns = await addColumns(opts.dir, files, columns, added, async (batch, first) => {
    const out: Record<string, OutputData> = {};
    const ids = batch.columns.get(idColumn) as BigInt64Array | (string | null)[];
    for (const [k, a] of set.audiences.entries()) {
      const col = new Array<string | null>(batch.rows).fill(null);
      const w = writers[k];
      const st = stats[k];
      const memberIdx: number[] = [];
      const holdIdx: number[] = [];
      for (let i = 0; i < batch.rows; i++) {
        if (!status[k][first + i]) continue;
        const inHoldout = a.holdout > 0 && holdoutDraw(set.seed, a.name, String(ids[i])) < a.holdout;
        status[k][first + i] = inHoldout ? 2 : 1;
        col[i] = inHoldout ? 'holdout' : 'member';
        (inHoldout ? holdIdx : memberIdx).push(i);
      }
      out[`aud_${a.name}`] = col;
      const pick = (idx: number[]) => (ids instanceof BigInt64Array ? BigInt64Array.from(idx, (i) => ids[i]) : idx.map((i) => ids[i]));
      await w.members.write(memberIdx.length, { [idColumn]: pick(memberIdx) });
      await w.membersCsv.write(memberIdx.length, { [idColumn]: pick(memberIdx) });
      await w.holdout.write(holdIdx.length, { [idColumn]: pick(holdIdx) });
      st.members += memberIdx.length;
      st.holdout += holdIdx.length;
      for (const p of probColumns) {
        const v = batch.columns.get(p) as Float64Array | undefined;
        if (v) st.sums.set(p, (st.sums.get(p) ?? 0) + memberIdx.reduce((s, i) => s + v[i], 0));
      }
      for (const sc of segColumns) {
        const v = batch.columns.get(sc) as Float64Array | undefined;
        if (!v) continue;
        const m = st.mix.get(sc) ?? new Map<string, number>();
        for (const i of memberIdx) m.set(String(v[i]), (m.get(String(v[i])) ?? 0) + 1);
        st.mix.set(sc, m);
      }
      if (email || phone) {
        const act = activationRows(batch, memberIdx, email, phone, defaultCountryCode);
        st.activation.rows += act.emails.length;
        st.activation.emails += act.emails.filter((e) => e !== null).length;
        st.activation.phones += act.phones.filter((p) => p !== null).length;
        st.activation.invalidEmails += act.invalidEmails;
        st.activation.invalidPhones += act.invalidPhones;
        for (const p of set.platforms) {
          await w[`activation-${p}`].write(act.emails.length, {
            email_sha256: act.emails.map((e) => e && sha256Hex(e)),
            phone_sha256: act.phones.map((ph) => ph && sha256Hex(phoneForPlatform(ph, p))),
          });
        }
      }
    }
    return out;
  }, columns.filter((c) => [idColumn, email, phone, ...probColumns, ...segColumns].includes(c.name)));
  for (const w of writers) for (const f of Object.values(w)) await f.close();

  const summaries: AudienceSummary[] = set.audiences.map((a, k) => {
    const st = stats[k];
    const mix: AudienceSummary['segmentMix'] = {};
    for (const [sc, m] of st.mix) mix[sc] = Object.fromEntries([...m].sort((x, y) => y[1] - x[1]).map(([seg, n]) => [seg, n / Math.max(1, st.members)]));
    return {
      name: a.name,
      rule: a.ruleText,
      members: st.members,
      holdout: st.holdout,
      share: (st.members + st.holdout) / Math.max(1, rows),
      removed: { suppressedIds: candidates[k].suppressedIds, suppressedRule: candidates[k].suppressedRule, duplicateIds: candidates[k].duplicateIds, ...removed[k] },
      ...(suppressLists[k] && { suppressList: suppressLists[k] }),
      means: Object.fromEntries([...st.sums].map(([p, s]) => [p, s / Math.max(1, st.members)])),
      segmentMix: mix,
      activation: st.activation,
      files: Object.fromEntries(Object.entries(writers[k]).map(([kind, w]) => [kind, path.relative(opts.dir, w.file)])),
    };
  });
  const overlap: AudiencesResult['overlap'] = [];
  for (let x = 0; x < status.length; x++) {
    for (let y = x + 1; y < status.length; y++) {
      let both = 0;
      for (let r = 0; r < rows; r++) if (status[x][r] && status[y][r]) both++;
      overlap.push({ a: set.audiences[x].name, b: set.audiences[y].name, both });
    }
  }
  return { summaries, overlap, membership: status, columns: allColumns };
}

/**
 * Normalized identifiers of the given rows (indexes into the batch): an email and an E.164
 * phone per row with at least one valid identifier (null where that one is missing or
 * invalid). Cells of any type are read as text first (a phone stored as a number, an all-null
 * column of another type). Present but invalid values are counted, never hashed.
 */
function activationRows(batch: ColumnBatch, rows: number[], email: string | undefined, phone: string | undefined, defaultCountry: string | undefined) {
  const emails: (string | null)[] = [];
  const phones: (string | null)[] = [];
  let invalidEmails = 0;
  let invalidPhones = 0;
  for (const i of rows) {
    const rawEmail = email ? identifierText(batch.columns.get(email)?.[i]) : null;
    const rawPhone = phone ? identifierText(batch.columns.get(phone)?.[i]) : null;
    const e = normalizeEmail(rawEmail);
    const p = normalizePhone(rawPhone, defaultCountry);
    if (rawEmail !== null && e === null) invalidEmails++;
    if (rawPhone !== null && p === null) invalidPhones++;
    if (e === null && p === null) continue;
    emails.push(e);
    phones.push(p);
  }
  return { emails, phones, invalidEmails, invalidPhones };
}
