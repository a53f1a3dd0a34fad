// Documented exit codes of the `flotilla` and `cluster-mgr` CLIs (docs/cli.md).
export const ExitCode = {
  Ok: 0,
  /** A run failed (install per-host failure, bundle verify failed). */
  Failed: 1,
  /** Bad input: invalid inventory/config, bad flags, unreadable file. */
  BadInput: 2,
  /** Problems found (preflight FAIL, check found problems). */
  Problems: 3,
  /** Warnings only (preflight). */
  Warnings: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An expected, user-facing failure: printed without a stack trace, mapped to an exit code. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.BadInput,
  ) {
    super(message);
    this.name = 'UserError';
  }
}
