// The `flotilla` CLI root: registers commands only.
import { newProgram, runProgram } from './cli/program';
import { registerDemo } from './commands/demo';
import { registerSynth } from './commands/synth';
import { registerValidate } from './commands/validate';

const program = newProgram('flotilla', 'Flotilla: sites as code and private delivery for on-premises Kubernetes');
registerValidate(program);
registerSynth(program);
registerDemo(program);

await runProgram(program);
