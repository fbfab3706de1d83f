/** Profiles of audiences: each audience's members vs all visitors, on one model's features. */
import type { FittedTransform } from '../features/transform.js';
import { columnRequest } from '../features/transform.js';
import type { Dataset } from '../io/dataset.js';
import { GroupProfiler, type GroupProfile } from '../models/profile.js';

/** `membership[a][row]` is non-zero when the row is in audience a (member or holdout). */
export async function profileAudiences(data: Dataset, transform: FittedTransform, membership: Uint8Array[]): Promise<GroupProfile[]> {
  const profilers = membership.map(() => new GroupProfiler(transform, 1));
  for await (const batch of data.read(columnRequest(transform))) {
    membership.forEach((m, a) => {
      const labels = Int8Array.from({ length: batch.rows }, (_, i) => (m[batch.first + i] ? 0 : -1));
      profilers[a].add(batch, labels);
    });
  }
  return profilers.map((p, a) => {
    const [profile] = p.result();
    return { ...profile, group: a, entries: profile.entries.slice(0, 12) };
  });
}
