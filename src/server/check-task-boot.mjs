// Piscina worker entry of the submission checks: Node 20 does not apply --import loader hooks to
// a worker's entry module, so load the task here: dist/'s JavaScript when the build is current,
// else the TypeScript source through tsx (util/built.mjs).
import { importModule } from '../util/built.mjs';

const task = await importModule(new URL('./check-task.ts', import.meta.url));
export default task.default;
