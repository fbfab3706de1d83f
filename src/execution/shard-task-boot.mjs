// Piscina worker entry: Node 20 does not apply --import loader hooks to a worker's entry
// module, so load the task here: dist/'s JavaScript when the build is current, else the
// TypeScript source through tsx (util/built.mjs; async-load pattern).
import { importModule } from '../util/built.mjs';

const task = await importModule(new URL('./shard-task.ts', import.meta.url));
export default task.default;
