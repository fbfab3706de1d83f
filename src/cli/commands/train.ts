/**
 * `audience train KIND`: the CLI's adapter to training/train.ts. Its flags and its help (the
 * option lines from each kind's parameter schemas, the prose from its descriptor) come from
 * the kinds registered (models/kinds.ts); what it adds is the printing.
 */
import type { TSchema } from 'typebox';
import { executorPolicyFromEnv } from '../../execution/policy.js';
import { checkRedisUrl } from '../../execution/redis.js';
import type { KindDescriptor } from '../../models/kind.js';
import { allKinds, allParams, findKind, kindNames } from '../../models/kinds.js';
import { describeParam, FEATURE_PARAMS, type ParamValues } from '../../models/params.js';
import { UserError } from '../../util/errors.js';
import { type Command, type Options } from '../args.js';
import { INPUT_OPTIONS, progressFor, STORE_OPTIONS, storeFrom } from './common.js';

/** parseArgs options for schemas: flags for booleans, repeatable for lists, text for the rest. */
export function flagOptions(schemas: Record<string, TSchema>): Options {
  return Object.fromEntries(
    Object.entries(schemas).map(([key, s]) => {
      const schema = s as TSchema & { type?: string; 'x-list'?: boolean };
      return [key, schema.type === 'boolean' ? { type: 'boolean' } : schema['x-list'] ? { type: 'string', multiple: true } : { type: 'string' }];
    }),
  ) as Options;
}

/** Help lines for options: `  --n-init N   description (default 3; >= 1 and <= 100)`, wrapped. */
export function optionLines(schemas: Record<string, TSchema>): string {
  return Object.entries(schemas)
    .map(([key, s]) => {
      const { arg, text } = describeParam(s);
      const head = `  --${key}${arg ? ` ${arg}` : ''}`;
      return wrap(head.length < 25 ? head.padEnd(25) + text : `${head}\n${' '.repeat(25)}${text}`, 92, 25);
    })
    .join('\n');
}

function wrap(line: string, width: number, indent: number): string {
  const out: string[] = [];
  for (const part of line.split('\n')) {
    let rest = part;
    while (rest.length > width) {
      const cut = rest.lastIndexOf(' ', width);
      if (cut <= indent) break;
      out.push(rest.slice(0, cut));
      rest = ' '.repeat(indent) + rest.slice(cut + 1);
    }
    out.push(rest);
  }
  return out.join('\n');
}

/** The options and notes of one kind (its descriptor's summary, params and help). */
function kindHelp(kind: KindDescriptor): string {
  return `${kind.kind} (${kind.summary}):\n${optionLines(kind.params)}\n${kind.help}`;
}

/** The command's help, from the kinds registered when it is asked for. */
function usage(): string {
  return `audience train KIND --input <files|globs> [--name NAME] [options]
  KIND: ${kindNames().join(', ')}
e.g. audience train kmeans --input 'visitors*.parquet' --name behavior --k 4..12
     audience train propensity --input visitors.parquet --label converted --name purchase

Every kind:
  --input FILE|GLOB      the training data (repeatable): Parquet, CSV or Arrow IPC
  --name NAME            the model (default: the kind, e.g. propensity); each run saves its
                         next version
  --store DIR            model store (default ./models or AUDIENCE_MODEL_STORE)
  --quiet                no progress lines
${optionLines(FEATURE_PARAMS)}

${allKinds().map(kindHelp).join('\n\n')}

Saves models/<name>/<version>/ (model.json + weights.bin + manifest.json with the fitted
feature transform, metrics, profiles or evaluation report, data fingerprint and backend).
The service's train jobs take the same options as "params", without the dashes.`;
}

/** Flags that belong to the command, not to the kind's params. */
const COMMAND_FLAGS = new Set(['input', 'name', 'store', 'quiet', 'help']);

/** `audience train KIND`: train and save a model version, printing its report. */
export const train: Command = {
  name: 'train',
  positionals: 1,
  // The kinds, their flags and help are read from the registry when asked for (models/kinds.ts).
  get usage() {
    return usage();
  },
  usageFor(positionals) {
    const kind = findKind(positionals[0]);
    if (!kind) return undefined;
    return `audience train ${kind.kind} --input <files|globs> [--name NAME] [options]\n\n${optionLines({ ...FEATURE_PARAMS })}\n  --name NAME            the model (default: ${kind.kind}); each run saves its next version\n  --store DIR            model store (default ./models or AUDIENCE_MODEL_STORE)\n  --quiet                no progress lines\n\n${kindHelp(kind)}`;
  },
  get options() {
    return { ...INPUT_OPTIONS, ...STORE_OPTIONS, name: { type: 'string' }, ...flagOptions(allParams()) } as Options;
  },
  async run(values, positionals) {
    // Composed here: a bad AUDIENCE_WORKERS is refused before any work, as score and serve do; REDIS_URL sends a K-Means fit's rows to the workers.
    const { queue } = executorPolicyFromEnv();
    const [kind] = positionals;
    if (!kind) throw new UserError(`audience train: give the kind of model (${kindNames().join(', ')}), e.g. audience train kmeans --input v.parquet --name behavior`);
    // Without --name the model is named after its kind: `audience train propensity` saves "propensity".
    const name = values.name === undefined ? kind : values.name;
    if (typeof name !== 'string' || name === '') throw new UserError(`audience train ${kind}: --name needs a model name, e.g. --name purchase`);
    const params: ParamValues = Object.fromEntries(Object.entries(values).filter(([k, v]) => !COMMAND_FLAGS.has(k) && v !== undefined));
    // Imported here: help (`audience train --help`) does not load the trainers and their backends.
    const { trainFromParams } = await import('../../training/train.js');
    const outcome = await trainFromParams({
      kind,
      name,
      input: [values.input ?? []].flat().map(String),
      params,
      store: storeFrom(values),
      progress: progressFor(values),
      note: values.quiet ? undefined : (line) => process.stderr.write(`${line}\n`),
      // With REDIS_URL: a fit whose workers are gone or stalled says so (even with --quiet: it is waiting, not working).
      onWaiting: (why) => why && process.stderr.write(`waiting: ${why}\n`),
      queue: queue && checkRedisUrl(queue, 'REDIS_URL'),
    });
    process.stdout.write(`${outcome.report}\n`);
  },
};
