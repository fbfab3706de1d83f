// Piscina worker entry of the submission checks: Node 20 does not apply --import loader hooks to
// a worker's entry module, so register tsx here, then hand Piscina the TypeScript task.
import { register } from 'tsx/esm/api';

register();
const task = await import('./check-task.ts');
export default task.default;
