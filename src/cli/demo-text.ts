/**
 * What `npm run demo` prints besides the commands' own output: each command as a line that
 * can be pasted into a shell, and the closing list of the files a score run wrote (read
 * from its audience summary, so it names only files that exist).
 */
import fs from 'node:fs';
import path from 'node:path';

/** Characters a POSIX shell reads as themselves in a word (no quoting needed). */
const PLAIN_WORD = /^[\w@%+=:,./-]+$/;

/** One argument as a POSIX shell word: as it is when plain, else in single quotes. */
export function shellWord(word: string): string {
  return PLAIN_WORD.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A command line to paste into a shell: `audience train ... --seed-filter 'Revenue = true'`. */
export function shellLine(argv: string[]): string {
  return argv.map(shellWord).join(' ');
}

/**
 * The files a score run wrote per audience, from `<scores>/audiences/summary.json`:
 * `audiences/<name>/members.parquet, members.csv, holdout.csv` (activation files only when
 * the definitions named identifiers, as the run wrote them). Empty when there is no summary.
 */
export function audienceFilesText(scores: string): string {
  const file = path.join(scores, 'audiences', 'summary.json');
  if (!fs.existsSync(file)) return '';
  const { summaries } = JSON.parse(fs.readFileSync(file, 'utf8')) as { summaries: Array<{ files: Record<string, string> }> };
  const names = [...new Set(summaries.flatMap((s) => Object.values(s.files).map((f) => path.basename(f))))];
  return names.length ? `audiences/<name>/${names.join(', ')}; audiences/summary.json` : 'audiences/summary.json';
}
