/**
 * The manifest.json of a score output folder: its name, the format this version writes, and
 * the one reader that checks the format (for the score runner's readers: an online reference,
 * a measurement), so an output of a later release is refused by name, never misread.
 */
import fs from 'node:fs';
import path from 'node:path';
import { errorMessage, UserError } from '../util/errors.js';

/** The file a score run writes last: its presence means the output is whole. */
export const MANIFEST = 'manifest.json';

/**
 * The format of a score output's manifest.json this version writes. Older outputs (no field)
 * are read as before; a newer one is refused by name (readScoreManifest).
 */
export const SCORE_MANIFEST_FORMAT = 1;

/**
 * The manifest of a score output folder, parsed, for readers of a finished run (an online
 * reference, a measurement).
 * @throws UserError naming the folder when it has no manifest (not a score output, or a run
 *   that did not finish), a damaged one, or one of a newer format than this version reads.
 */
export function readScoreManifest<T>(dir: string): T & { format?: number } {
  const file = path.join(dir, MANIFEST);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new UserError(`${dir}: no ${MANIFEST}, so not the output of a finished audience score run`);
  }
  let m: T & { format?: number };
  try {
    m = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${file}: damaged (${errorMessage(err)})`);
  }
  if (typeof m?.format === 'number' && m.format > SCORE_MANIFEST_FORMAT) {
    throw new UserError(`${file}: written by a newer audience-engine (score manifest format ${m.format}; this version reads format ${SCORE_MANIFEST_FORMAT} and older): upgrade audience-engine to read it`);
  }
  return m;
}
