/** Lists of names as prose, for messages and help. */

/** Names joined as prose with `conjunction` before the last: `a, b and c`; one name alone; `none` for none. */
function prose(names: readonly string[], conjunction: string, none: string): string {
  if (names.length === 0) return none;
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} ${conjunction} ${names[names.length - 1]}` : names[0];
}

/** Names as prose: `a, b and c` (`no` for none, as in "no models"). */
export function andList(names: readonly string[]): string {
  return prose(names, 'and', 'no');
}

/** Alternatives as prose: `a, b or c` (`nothing` for none). */
export function orList(names: readonly string[]): string {
  return prose(names, 'or', 'nothing');
}
