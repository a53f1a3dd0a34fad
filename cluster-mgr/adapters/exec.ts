// Runs an external command (argv, never a shell) with a deadline; resolves its exit status and output.
import { execFile } from 'node:child_process';

export interface CommandResult {
  readonly code: number;
  readonly output: string;
}

export function runCommand(argv: readonly string[], opts: { timeoutMs: number; input?: string; signal?: AbortSignal }): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = argv;
    if (!cmd) return reject(new Error('empty command'));
    const child = execFile(cmd, args, { timeout: opts.timeoutMs, signal: opts.signal, maxBuffer: 1 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`.trim();
      if (err && typeof (err as NodeJS.ErrnoException).code === 'string') {
        return reject(new Error(`${cmd}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'command not found' : err.message}`));
      }
      if (err && (err as { killed?: boolean }).killed) return resolve({ code: -1, output: `${output}\n(killed after ${opts.timeoutMs} ms)`.trim() });
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, output });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}
