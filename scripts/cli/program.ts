// Shared commander setup: usage errors exit 2, user errors print one clean line, unexpected errors
// print a short message (stack only with FLOTILLA_DEBUG=1).
import { Command, CommanderError } from 'commander';
import { ExitCode, UserError } from './exit';

export function newProgram(name: string, description: string): Command {
  const program = new Command(name).description(description).showHelpAfterError('(run with --help for usage)');
  program.exitOverride();
  program.configureOutput({ writeErr: (s) => process.stderr.write(s) });
  return program;
}

/** Wraps an action so expected failures become exit codes instead of stack traces. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void> | number | void) {
  return async (...args: A): Promise<void> => {
    try {
      const code = await fn(...args);
      if (typeof code === 'number') process.exitCode = code;
    } catch (err) {
      reportError(err);
    }
  };
}

export function reportError(err: unknown): void {
  if (err instanceof UserError) {
    process.stderr.write(`error: ${err.message}\n`);
    process.exitCode = err.exitCode;
    return;
  }
  const e = err as Error;
  process.stderr.write(`error: ${e?.message ?? String(err)}\n`);
  if (process.env.FLOTILLA_DEBUG === '1' && e?.stack) process.stderr.write(`${e.stack}\n`);
  process.exitCode = ExitCode.Failed;
}

/** Parses argv; commander usage errors (unknown option, missing argument) exit 2. */
export async function runProgram(program: Command, argv = process.argv): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0 ? 0 : ExitCode.BadInput;
      return;
    }
    reportError(err);
  }
}
