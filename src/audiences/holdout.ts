/**
 * The holdout draw of an audience, one definition for both paths that draw it: batch scoring in
 * DuckDB (build.ts: `sha256`, its first 8 hex digits) and the online view (server/online). A
 * visitor's draw is sha256 of "seed:audience:id" (the id as text), its first 32 bits as a
 * fraction of 2^32: stable for an id across runs and servers, independent between audiences.
 * A qualifying visitor whose draw is below the audience's holdout share is held out.
 */
import crypto from 'node:crypto';

/** The text hashed before the id: "seed:audience:". */
export function holdoutPrefix(seed: number, audience: string): string {
  return `${seed}:${audience}:`;
}

/** Whether a qualifying visitor (`id` as text, as DuckDB casts it to VARCHAR) is in the audience's holdout of share `holdout` (0-1). */
export function heldOut(seed: number, audience: string, holdout: number, id: string): boolean {
  if (holdout <= 0) return false;
  const digest = crypto.createHash('sha256').update(holdoutPrefix(seed, audience) + id).digest();
  return digest.readUInt32BE(0) / 4294967296 < holdout;
}
