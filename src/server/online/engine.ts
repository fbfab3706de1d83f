/**
 * The online view at work: events in (checked one by one, the good ones stored durably), one
 * visitor's features as `audience events` computes them (features/visitor.ts, the same code),
 * its scores from the same stored models batch scoring loads (POST /v1/score's path), the
 * audiences it is in (the rule language's own evaluator, audiences/rules.ts), and the log of
 * audience enters and exits.
 *
 * Membership is brought up to date for each visitor an accepted event touches, before the
 * events are acknowledged, so a change is in the log when POST /v1/events answers. Time passing
 * changes features only when the UTC day changes (every feature is counted in days), so the
 * sweep, every `sweepSeconds`, re-evaluates every visitor once when the view starts and then
 * once per new day: exits (and enters) caused by a window expiring are logged by the first
 * sweep of the day, at most `sweepSeconds` after midnight UTC.
 */
import { EventEmitter } from 'node:events';
import { readIdList, referenceResolver } from '../../audiences/build.js';
import { heldOut } from '../../audiences/holdout.js';
import { compile, references } from '../../audiences/rules.js';
import { columnRequest } from '../../features/transform.js';
import { featureColumns, shareBase, topShares, visitorFeatures, type FeatureLayout, type FeatureValue } from '../../features/visitor.js';
import { eventDay } from '../../features/event-times.js';
import { canonicalId } from '../../io/ids.js';
import type { JsonCell } from '../../io/json-rows.js';
import { pinnedRef } from '../../models/load.js';
import type { ScoringModel } from '../../models/model.js';
import { UserError } from '../../util/errors.js';
import type { ModelCache } from '../model-cache.js';
import { RowScorer } from '../row-scorer.js';
import { ScoreReference } from './reference.js';
import type { MembershipChange, OnlineStore, StoredEvent } from './store.js';
import { fixedFeatureNames, viewLayout, type OnlineView } from './view.js';

const DAY_MS = 86_400_000;
/** The longest id, category or session text an event may hold. */
const MAX_TEXT = 256;
/** Share columns follow the categories of the events received, so a model may read any of them. */
const SHARE = /^category_share_/;

/** One visitor as GET /v1/visitors/{id} answers. */
export interface VisitorView {
  id: string;
  asOf: string;
  features: Record<string, FeatureValue>;
  scores: Record<string, JsonCell>;
  /** The audiences the visitor is a member of (in definition order). */
  audiences: string[];
  /** The audiences the visitor qualifies for and is held out of (the holdout draw of audiences/holdout.ts, as batch scoring draws it). */
  holdout: string[];
  /** Per model with ranked outputs: the population its percentiles and ranks are placed in. */
  reference: Record<string, string>;
}

/** An event refused, with its place in the posted list and why. */
export interface Refusal {
  index: number;
  reason: string;
}

/** An audience's rule and its suppression rule, compiled (audiences/rules.ts compile). */
interface CompiledAudience {
  rule: (row: number) => boolean;
  suppress?: (row: number) => boolean;
}

/** The online view over a store, with its models loaded. */
export class OnlineEngine {
  private readonly changed = new EventEmitter();

  private sweptDay: number | undefined;

  private timer: NodeJS.Timeout | undefined;

  private readonly reads: string[];

  /** The visitor audiencesOf is evaluating now (its features and scores): the compiled rules read it. */
  private evaluating: { features: Record<string, FeatureValue>; scores: Record<string, JsonCell> } = { features: {}, scores: {} };

  /** Each audience's rule and suppression rule (in definition order), compiled once against `evaluating`. */
  private readonly rules: CompiledAudience[];

  /** Each visitor's refresh in progress: refreshes of one visitor run one after the other. */
  private readonly refreshing = new Map<string, Promise<unknown>>();

  private constructor(
    readonly view: OnlineView,
    readonly store: OnlineStore,
    readonly models: ScoringModel[],
    private readonly scorer: RowScorer,
    private readonly reference: ScoreReference,
    /** Per audience with `suppress.ids`: the list's canonical ids (io/ids.ts). */
    private readonly suppressed: Map<string, Set<string>>,
    private readonly now: () => number,
  ) {
    this.changed.setMaxListeners(0);
    this.reads = [...new Set(models.flatMap((m) => columnRequest({ ...m.transform, id: { column: null, as: 'row' } }).map((r) => r.name)))];
    this.rules = this.compileRules();
  }

  /**
   * Loads the view's models and checks them and the audiences against the features the view
   * gives.
   * @throws UserError naming the model or audience that reads what the events cannot give.
   */
  static async open(view: OnlineView, store: OnlineStore, cache: ModelCache, now: () => number = Date.now): Promise<OnlineEngine> {
    // The view's own copies: the cache may release its models while the view still scores.
    const models = await Promise.all(view.models.map((ref) => cache.own(ref)));
    try {
      return await OnlineEngine.check(view, store, models, now);
    } catch (err) {
      for (const m of models) m.dispose();
      throw err;
    }
  }

  /** The engine of loaded models, once they and the audiences are checked against the view's features. */
  private static async check(view: OnlineView, store: OnlineStore, models: ScoringModel[], now: () => number): Promise<OnlineEngine> {
    const fixed = new Set(fixedFeatureNames(view));
    for (const m of models) {
      const missing = columnRequest({ ...m.transform, id: { column: null, as: 'row' } }).find((r) => !fixed.has(r.name) && !SHARE.test(r.name));
      if (missing) throw new UserError(`${view.file}: model ${pinnedRef(m)} reads "${missing.name}", which the events' features do not give (features: ${[...fixed].join(', ')}, category_share_<value>)`);
    }
    const reference = view.reference ? await ScoreReference.load(view.reference, models) : ScoreReference.none();
    const resolve = referenceResolver(models);
    const outputs = new Set([...models.flatMap((m) => m.outputs.map((o) => o.name)), ...reference.columns()]);
    for (const a of view.audiences?.audiences ?? []) {
      for (const rule of [a.rule, a.suppress.rule]) {
        if (!rule) continue;
        for (const ref of references(rule)) {
          const r = resolve(ref);
          if (r.fromModel ? !outputs.has(r.column) : !fixed.has(r.column) && !SHARE.test(r.column)) {
            const ranked = /_(percentile|bucket|rank)$/.test(r.column) && r.fromModel ? ' (percentiles, buckets and ranks need the view\'s "reference": a batch score run of the models)' : '';
            throw new UserError(`${view.file}: audience "${a.name}" reads "${ref}", which is neither an output of the view's models (${[...outputs].join(', ')}) nor a feature of its events${ranked}`);
          }
        }
      }
    }
    const suppressed = new Map<string, Set<string>>();
    for (const a of view.audiences?.audiences ?? []) if (a.suppress.ids) suppressed.set(a.name, new Set(await readIdList(a.suppress.ids)));
    return new OnlineEngine(view, store, models, await RowScorer.create(models), reference, suppressed, now);
  }

  /** Starts the periodic sweep (and runs the first at once). */
  start(log: (err: unknown) => void): void {
    const tick = () => void this.sweep().catch(log);
    tick();
    this.timer = setInterval(tick, this.view.sweepSeconds * 1000);
    this.timer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.changed.emit('close');
    await this.scorer.dispose();
    for (const m of this.models) m.dispose();
  }

  /** Today's UTC day, by the engine's clock. */
  today(): number {
    return Math.floor(this.now() / DAY_MS);
  }

  /**
   * Checks each event, stores the good ones durably and brings their visitors' audiences up to
   * date.
   * @returns how many were accepted and why each other one was refused.
   */
  async ingest(events: Array<Record<string, unknown>>): Promise<{ accepted: number; refused: Refusal[] }> {
    const good: StoredEvent[] = [];
    const refused: Refusal[] = [];
    for (const [index, raw] of events.entries()) {
      const checked = this.check(raw);
      if (typeof checked === 'string') refused.push({ index, reason: checked });
      else good.push(checked);
    }
    if (good.length) await this.store.append(good);
    for (const id of new Set(good.map((e) => e.id))) await this.refresh(id);
    return { accepted: good.length, refused };
  }

  /** One posted event as stored, or the reason it is refused. */
  private check(raw: Record<string, unknown>): StoredEvent | string {
    const f = this.view.fields;
    const known = new Set(Object.values(f));
    const unknown = Object.keys(raw).find((k) => !known.has(k));
    if (unknown !== undefined) return `unknown field "${unknown}" (fields: ${[...known].join(', ')})`;
    const id = raw[f.id];
    if (!((typeof id === 'string' && id !== '' && id.length <= MAX_TEXT) || (typeof id === 'number' && Number.isFinite(id)))) return `"${f.id}" must be a non-empty string (at most ${MAX_TEXT} characters) or a number (the visitor's id)`;
    const time = eventDay(raw[f.time]);
    if ('reason' in time) return `"${f.time}": ${time.reason}`;
    const amount = f.amount === undefined ? null : (raw[f.amount] ?? null);
    if (amount !== null && !(typeof amount === 'number' && Number.isFinite(amount))) return `"${f.amount}" must be a finite number or null, got ${typeof amount === 'number' ? String(amount) : JSON.stringify(amount)?.slice(0, 60)}`;
    const text = (name: string | undefined): string | null | undefined => {
      const v = name === undefined ? null : (raw[name] ?? null);
        return v === null ? null : (typeof v === 'string' && v.length <= MAX_TEXT) || (typeof v === 'number' && Number.isFinite(v)) ? String(v) : undefined;
    };
    const category = text(f.category);
    const session = text(f.session);
    if (category === undefined) return `"${f.category}" must be text (at most ${MAX_TEXT} characters), a number or null`;
    if (session === undefined) return `"${f.session}" must be text (at most ${MAX_TEXT} characters), a number or null`;
    return { id: String(id), day: time.day, amount: amount ?? NaN, category, session };
  }

  /**
   * One visitor's features, scores and audiences as of a day (default: today).
   * @returns undefined when the visitor has no event on or before that day.
   */
  async visitor(id: string, asOfDay = this.today()): Promise<VisitorView | undefined> {
    const events = await this.store.events(id);
    const counts = this.view.fields.category ? await this.store.categoryCounts(asOfDay) : [];
    const top = topShares(counts, this.view.topCategories);
    const layout = viewLayout(this.view, [...top, ...this.otherShares(top, counts)]);
    const values = visitorFeatures(events, asOfDay, layout);
    if (!values) return undefined;
    const all = Object.fromEntries(featureColumns(layout).map((c, i) => [c.name, values[i]]));
    // The features audience events would give; the models also get the shares of categories they read that are not among the top now.
    const features = Object.fromEntries(featureColumns(viewLayout(this.view, top)).map((c) => [c.name, all[c.name]]));
    const scored = this.models.length ? (await this.scorer.score([Object.fromEntries(this.reads.map((r) => [r, all[r] ?? (SHARE.test(r) ? 0 : null)]))], 'features')).rows[0] : {};
    const scores = { ...scored, ...this.reference.place(scored) };
    return { id, asOf: new Date(asOfDay * DAY_MS).toISOString().slice(0, 10), features, scores, ...this.audiencesOf(id, features, scores), reference: this.reference.note };
  }

  /**
   * The share columns the models read beyond the top categories, each for the most frequent
   * category value that names it (a column no event's category names is a share of 0).
   */
  private otherShares(top: FeatureLayout['shares'], counts: Array<[string, number]>): FeatureLayout['shares'] {
    const wanted = this.reads.filter((r) => SHARE.test(r) && !top.some((s) => s.column === r));
    return wanted.flatMap((column) => {
      const named = counts.filter(([v]) => shareBase(v) === column).sort((a, b) => b[1] - a[1]);
      return named.length ? [{ value: named[0][0], column }] : [];
    });
  }

  /**
   * The audiences (in definition order) whose rule holds and no suppression applies, as batch
   * scoring builds them (audiences/build.ts): the id list, the rule, then earlier audiences
   * (their members and holdout), and the holdout drawn from the id.
   */
  private audiencesOf(id: string, features: Record<string, FeatureValue>, scores: Record<string, JsonCell>): { audiences: string[]; holdout: string[] } {
    const rules = this.rules;
    this.evaluating = { features, scores }; // read by the rules below, synchronously
    const members: string[] = [];
    const holdout: string[] = [];
    const key = canonicalId(id);
    const set = this.view.audiences;
    for (const [i, a] of (set?.audiences ?? []).entries()) {
      if (!rules[i].rule(0)) continue;
      if (key !== null && this.suppressed.get(a.name)?.has(key)) continue;
      if (rules[i].suppress?.(0)) continue;
      if (a.suppress.audiences.some((s) => members.includes(s) || holdout.includes(s))) continue;
      (heldOut(set!.seed, a.name, a.holdout, id) ? holdout : members).push(a.name);
    }
    return { audiences: members, holdout };
  }

  /** The audiences' rules compiled against the visitor being evaluated (the reference's sizes are fixed for the engine's life). */
  private compileRules(): CompiledAudience[] {
    const resolver = referenceResolver(this.models);
    const resolved = new Map<string, ReturnType<typeof resolver>>();
    const resolve = (ref: string) => resolved.get(ref) ?? resolved.set(ref, resolver(ref)).get(ref)!;
    const get = (ref: string) => {
      const r = resolve(ref);
      const v = r.fromModel ? this.evaluating.scores[r.column] : this.evaluating.features[r.column];
      return v === undefined || v === null ? null : typeof v === 'boolean' ? Number(v) : v;
    };
    const rankBase = (ref: string) => this.reference.size(resolve(ref).column);
    return (this.view.audiences?.audiences ?? []).map((a) => ({ rule: compile(a.rule, get, rankBase), suppress: a.suppress.rule ? compile(a.suppress.rule, get, rankBase) : undefined }));
  }

  /**
   * Brings a visitor's audiences up to date as of today and announces the changes; one visitor's
   * refreshes run in turn, so an older evaluation never overwrites a newer one (in this process).
   */
  private async refresh(id: string): Promise<MembershipChange[]> {
    if (!this.view.audiences) return [];
    const before = this.refreshing.get(id) ?? Promise.resolve();
    const mine = before.then(() => this.evaluate(id));
    const settled = mine.catch(() => undefined);
    this.refreshing.set(id, settled);
    void settled.then(() => this.refreshing.get(id) === settled && this.refreshing.delete(id));
    return mine;
  }

  private async evaluate(id: string): Promise<MembershipChange[]> {
    const view = await this.visitor(id);
    const changes = await this.store.updateMembership(id, view?.audiences ?? [], new Date(this.now()).toISOString());
    for (const c of changes) this.changed.emit(c.audience);
    return changes;
  }

  /**
   * Re-evaluates every visitor when the day has changed since the last sweep (or none ran):
   * the changes caused by time passing.
   * @returns the changes logged.
   */
  async sweep(): Promise<MembershipChange[]> {
    const today = this.today();
    if (this.sweptDay === today || !this.view.audiences) return [];
    const changes: MembershipChange[] = [];
    for (const id of await this.store.visitors()) changes.push(...(await this.refresh(id)));
    this.sweptDay = today;
    return changes;
  }

  /**
   * An audience's changes after `cursor`, waiting up to `waitMs` for one when there is none
   * yet (a change made by this server wakes the wait at once; one made by another server on
   * the same Redis is seen by polling every `pollMs`).
   */
  async changesAfter(audience: string, cursor: number, limit: number, waitMs: number, pollMs = 100): Promise<MembershipChange[]> {
    const end = Date.now() + waitMs;
    for (;;) {
      const found = await this.store.changesAfter(audience, cursor, limit);
      const left = end - Date.now();
      if (found.length || left <= 0) return found;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.changed.off(audience, done);
          this.changed.off('close', done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(left, pollMs));
        this.changed.once(audience, done);
        this.changed.once('close', done);
      });
    }
  }

  /** The audiences the view keeps. */
  audienceNames(): string[] {
    return (this.view.audiences?.audiences ?? []).map((a) => a.name);
  }
}
