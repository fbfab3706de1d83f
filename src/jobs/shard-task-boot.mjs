// Piscina worker entry: Node 20 does not apply --import loader hooks to a worker's entry
// module, so register tsx here, then hand Piscina the TypeScript task (async-load pattern).
import { register } from 'tsx/esm/api';

register();
const task = await import('./shard-task.ts');
export default task.default;
