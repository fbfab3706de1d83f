// Worker entry: Node 20 does not apply --import loader hooks to a worker's entry module, so
// load the worker named in workerData (its source URL) here: dist/'s JavaScript when the build
// is current, else the TypeScript source through tsx (util/built.mjs).
import { workerData } from 'node:worker_threads';
import { importModule } from '../util/built.mjs';

await importModule(workerData.entry);
