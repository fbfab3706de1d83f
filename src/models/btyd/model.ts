/**
 * BG/NBD with Gamma-Gamma spend as a stored model kind (`audience train bgnbd`): the
 * standard lifetime-value model every CLTV user compares with (Fader, Hardie and Lee 2005).
 * Its inputs are the four columns `audience events` writes (customers.ts), kept through the
 * feature transform as plain numbers (no log) and read back from their standardized values.
 * Scoring writes each customer's expected purchases and value over the horizon, and the
 * value's percentile and bucket.
 */
import { Type, type Static } from 'typebox';
import type { FeatureBlock, FittedNumeric } from '../../features/transform.js';
import { stateOf } from '../manifest.js';
import type { OutputColumn, OutputData } from '../../io/writer.js';
import { kindColumns, kindRanked, StoredModel, type RankedOutput, type ScoringModel } from '../model.js';
import { BGNBD_OUTPUTS } from './outputs.js';
import type { Manifest, ModelStore, NewManifest } from '../registry.js';
import { btydValue, customerSummary, LEGACY_SPEND, RFM_COLUMNS } from './customers.js';

const Positive = Type.Number({ exclusiveMinimum: 0 });

/** What a BG/NBD model stores (it has no weights): the BG/NBD and Gamma-Gamma estimates, the customers they used, and the horizon in days. */
export const BgNbdStateSchema = Type.Object({
  params: Type.Object({ r: Positive, alpha: Positive, a: Positive, b: Positive }),
  spend: Type.Object({ p: Positive, q: Positive, gamma: Positive }),
  customers: Type.Integer({ minimum: 0 }),
  horizonDays: Positive,
});

/** A BG/NBD model's stored state (see BgNbdStateSchema). */
export type BgNbdState = Static<typeof BgNbdStateSchema>;

/** A fitted BG/NBD + Gamma-Gamma model (see the module comment). */
export class BgNbdModel extends StoredModel implements ScoringModel {
  private readonly columns: Array<{ at: number; mean: number; std: number }>;

  constructor(
    manifest: Manifest,
    readonly state: BgNbdState,
  ) {
    super(manifest);
    const t = manifest.features;
    const legacy = !t.features.some((x) => x.name === RFM_COLUMNS[3]);
    this.columns = RFM_COLUMNS.map((column) => {
      const name = legacy && column === RFM_COLUMNS[3] ? LEGACY_SPEND : column;
      const f = t.features.find((x) => x.name === name) as FittedNumeric | undefined;
      if (!f || f.kind !== 'numeric' || f.log) throw new Error(`model ${manifest.name}: its transform lacks the plain numeric column ${name}`);
      return { at: t.outputs.indexOf(name), mean: f.mean, std: f.std };
    });
  }

  get outputs(): OutputColumn[] {
    return kindColumns(BGNBD_OUTPUTS, this.manifest.name);
  }

  get ranked(): RankedOutput[] {
    return kindRanked(BGNBD_OUTPUTS, this.manifest.name);
  }

  async score(block: FeatureBlock): Promise<Record<string, OutputData>> {
    const purchases = new Float32Array(block.rows);
    const value = new Float32Array(block.rows);
    for (let i = 0; i < block.rows; i++) {
      // The transform standardized each column: z = (x - mean) / std.
      const [active, tenure, recency, mean] = this.columns.map((c) => block.data[i * block.cols + c.at] * (c.std || 1) + c.mean);
      const v = btydValue(this.state, customerSummary(Math.round(active), tenure, recency, mean), this.state.horizonDays);
      purchases[i] = v.purchases;
      value[i] = v.value;
    }
    return { [this.col('purchases')]: purchases, [this.col('value')]: value };
  }

  dispose(): void {}

  static save(store: ModelStore, manifest: Omit<NewManifest, 'state'>, state: BgNbdState): BgNbdModel {
    return new BgNbdModel(store.save({ ...manifest, state }, []), state);
  }

  static fromStore(manifest: Manifest): BgNbdModel {
    return new BgNbdModel(manifest, stateOf(manifest, BgNbdStateSchema));
  }
}
