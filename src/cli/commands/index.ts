/**
 * The commands of `audience`, in the order its help lists them: each one's name, its one-line
 * summary, and its module, imported only when the command runs, so `audience --help` (and an
 * unknown command's error) loads none of the engines.
 */
import type { Command } from '../args.js';

/** A command as the top-level help lists it; `load` gives the command itself. */
export interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<Command>;
}

/** Every command, in help order: its name (its module is ./NAME.ts, exporting it as NAME) and summary. */
const LISTED: Array<[string, string]> = [
  ['info', 'show the scoring engine, the compute backend, device, versions, and why faster backends were skipped'],
  ['generate', 'write synthetic visitors with planted segments (Parquet or CSV)'],
  ['events', 'build per-visitor features (recency, frequency, monetary...) from raw events, as of a date'],
  ['features', 'infer a feature spec from a file, to save and edit'],
  ['train', 'train a model of one kind (audience train --help lists the kinds)'],
  ['score', 'score visitors with stored models, writing Parquet'],
  ['measure', "measure each audience's lift over its holdout on campaign outcomes (with CUPED)"],
  ['segments', "print a model's segment (kmeans) or niche (anomaly) profiles, in words"],
  ['models', 'list stored models; show one; promote, roll back or compare versions'],
  ['report', 'write the HTML report of a model version: its charts, data checks and fairness by group'],
  ['serve', 'run the batch job service: train and score jobs over HTTP (OpenAPI at /docs)'],
  ['worker', "run score jobs' shards taken from Redis (BullMQ), on this host, for a server or CLI on another"],
];

/** Every command, in help order. */
export const COMMANDS: CommandEntry[] = LISTED.map(([name, summary]) => ({
  name,
  summary,
  load: async () => ((await import(`./${name}.js`)) as Record<string, Command>)[name],
}));
