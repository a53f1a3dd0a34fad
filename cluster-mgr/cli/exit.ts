// cluster-mgr's own CLI plumbing (it imports nothing from scripts/): the documented exit codes
// (docs/cli.md), a user-facing error type, and the commander wrapper that turns failures into
// `process.exitCode` (never `process.exit` mid-flight).
import { Command, CommanderError } from 'commander';
import { formatError, type PositionedError } from '../config/index';

/** 0 ok, 1 failed, 2 bad input (flags, config, unreadable file). */
export const ExitCode = { Ok: 0, Failed: 1, BadInput: 2 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An expected failure: one `error: …` line on stderr, no stack trace, its own exit code. */
export class UserError extends Error {
  override readonly name = 'UserError';
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.BadInput,
  ) {
    super(message);
  }
}

/** Bad input in a file: each error as `FILE:LINE:COL PATH: message`, then a count line; exit 2. */
export function badInput(errors: readonly PositionedError[], what: string): ExitCode {
  for (const e of errors) process.stderr.write(`${formatError(e)}\n`);
  process.stderr.write(`${what}: ${errors.length} error${errors.length === 1 ? '' : 's'}\n`);
  return ExitCode.BadInput;
}

function fail(err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`error: ${message}\n`);
  process.exitCode = err instanceof UserError ? err.exitCode : ExitCode.Failed;
  if (!(err instanceof UserError) && process.env.FLOTILLA_DEBUG === '1' && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
}

/** Wraps a commander action: a returned number becomes the exit code, a throw becomes one error line. */
export const action =
  <A extends unknown[]>(fn: (...args: A) => Promise<number | void> | number | void) =>
  (...args: A): Promise<void> =>
    Promise.resolve()
      .then(() => fn(...args))
      .then((code) => {
        if (typeof code === 'number') process.exitCode = code;
      }, fail);

export function cliProgram(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
}

/** Parses argv; a usage error (unknown option, missing argument) is exit 2, --help/--version exit 0. */
export async function runCli(program: Command, argv = process.argv): Promise<void> {
  await program.parseAsync(argv).catch((err: unknown) => {
    if (!(err instanceof CommanderError)) return fail(err);
    const clean = err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version';
    process.exitCode = clean ? ExitCode.Ok : ExitCode.BadInput;
  });
}
