/**
 * The registry of model kinds: each kind's descriptor (models/kind.ts), declared in its
 * folder and registered here, one line per kind. Everything that differs by kind (training,
 * loading, score columns, help, the service's checks, the reports) looks the kind up here.
 * The order of registration is the order kinds are listed in help.
 */
import type { TSchema } from 'typebox';
import { UserError } from '../util/errors.js';
import { ANOMALY_KIND } from './anomaly/kind.js';
import { BGNBD_KIND } from './btyd/kind.js';
import { CLTV_KIND } from './cltv/kind.js';
import type { KindDescriptor } from './kind.js';
import { KMEANS_KIND } from './kmeans/kind.js';
import { LOOKALIKE_KIND } from './lookalike/kind.js';
import { FEATURE_PARAMS } from './params.js';
import { PROPENSITY_KIND } from './propensity/kind.js';
import { UPLIFT_KIND } from './uplift/kind.js';

const KINDS = new Map<string, KindDescriptor>();

/**
 * Registers a model kind: from then on it can be trained, loaded, scored and reported by its name.
 * @throws Error when another descriptor holds the name, or one of its options would be read
 *   differently on the command line from another kind's option of that name (the train
 *   command has one flag per name).
 */
export function registerKind(d: KindDescriptor): void {
  const held = KINDS.get(d.kind);
  if (held && held !== d) throw new Error(`model kind "${d.kind}" is registered already`);
  const flags = allParams();
  for (const [key, schema] of Object.entries(d.params)) {
    if (flags[key] && flagShape(flags[key]) !== flagShape(schema)) throw new Error(`model kind "${d.kind}": --${key} is a ${flagShape(schema)} flag, another kind's --${key} a ${flagShape(flags[key])} flag`);
  }
  KINDS.set(d.kind, d);
}

/** How the command line reads a flag: alone (a boolean), repeated (a list) or with a value. */
function flagShape(schema: TSchema): 'boolean' | 'list' | 'value' {
  const s = schema as TSchema & { type?: string; 'x-list'?: boolean };
  return s.type === 'boolean' ? 'boolean' : s['x-list'] ? 'list' : 'value';
}

/** The kind's descriptor, or undefined for a kind this version does not know. */
export function findKind(kind: string): KindDescriptor | undefined {
  return KINDS.get(kind);
}

/** The kind's descriptor. @throws UserError naming the kinds there are. */
export function kindOf(kind: string): KindDescriptor {
  const d = KINDS.get(kind);
  if (!d) throw new UserError(`unknown model kind "${kind}"; available: ${kindNames().join(', ')}`);
  return d;
}

/** The registered kinds' names, in registration order. */
export function kindNames(): string[] {
  return [...KINDS.keys()];
}

/** The registered kinds' descriptors, in registration order. */
export function allKinds(): KindDescriptor[] {
  return [...KINDS.values()];
}

/** Every kind's options with the feature options (the train command's flags: one flag per name, read alike by every kind: registerKind checks). */
export function allParams(): Record<string, TSchema> {
  return Object.assign({}, FEATURE_PARAMS, ...allKinds().map((d) => d.params)) as Record<string, TSchema>;
}

/** The options of any kind that name a file (their help's placeholder is FILE): a service job resolves them inside the data roots. */
export function fileParams(): string[] {
  return Object.entries(allParams())
    .filter(([, s]) => ((s as { 'x-arg'?: string })['x-arg'] ?? '').split('|').includes('FILE'))
    .map(([key]) => key);
}

registerKind(KMEANS_KIND);
registerKind(PROPENSITY_KIND);
registerKind(LOOKALIKE_KIND);
registerKind(ANOMALY_KIND);
registerKind(CLTV_KIND);
registerKind(UPLIFT_KIND);
registerKind(BGNBD_KIND);
