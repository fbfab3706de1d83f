/** How the service's messages name a train job's options: `params.k` of a kmeans train job (the CLI's are models/params.ts FLAG_NAMES). */
import type { ParamNamer } from '../models/params.js';

/** The API's names for a train job's params, at submission (server/submit.ts) and while the job runs (server/jobs/run-job.ts). */
export const API_NAMES: ParamNamer = { option: (key) => `params.${key}`, where: (kind) => `a ${kind} train job` };
