// The `cluster-mgr` CLI root: registers commands only.
import { registerCanary } from './cli/canary';
import { cliProgram, runCli } from './cli/exit';
import { registerPlan } from './cli/plan';
import { registerRun } from './cli/run';
import { registerSim } from './sim/cli';

const program = cliProgram('cluster-mgr', 'Flotilla federation daemon: capacity-weighted replicas and failover across member clusters');
registerRun(program);
registerPlan(program);
registerSim(program);
registerCanary(program);

await runCli(program);
