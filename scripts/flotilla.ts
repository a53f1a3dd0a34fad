// The `flotilla` CLI root: registers commands only.
import { newProgram, runProgram } from './cli/program';
import { registerBundle } from './commands/bundle';
import { registerCheck } from './commands/check';
import { registerDemo } from './commands/demo';
import { registerImage } from './commands/image';
import { registerInstall } from './commands/install';
import { registerPreflight } from './commands/preflight';
import { registerRegistry } from './commands/registry';
import { registerSynth } from './commands/synth';
import { registerValidate } from './commands/validate';

const program = newProgram('flotilla', 'Flotilla: sites as code and private delivery for on-premises Kubernetes');
registerValidate(program);
registerSynth(program);
registerDemo(program);
registerPreflight(program);
registerBundle(program);
registerInstall(program);
registerRegistry(program);
registerCheck(program);
registerImage(program);

await runProgram(program);
