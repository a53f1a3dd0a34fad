// Start a real daemon (optionally inside a lab namespace) in the foreground, with its own private
// folder for pid/config/log files, and guaranteed teardown: stop() from the test, the lab's cleanup
// registry on worker exit, and namespace sweeping for anything that escaped.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerCleanup } from './cleanup';
import { waitFor } from './wait';

export interface DaemonSpec {
  /** Label for logs and errors. */
  readonly name: string;
  readonly command: string;
  /** Arguments; `{dir}` is replaced by the daemon's private folder. */
  readonly args?: readonly string[];
  /** Run inside this network namespace. */
  readonly netns?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Keep the private folder after stop (for debugging). */
  readonly keepDir?: boolean;
  /** Use this folder instead of a fresh temp folder. */
  readonly dir?: string;
}

export interface Daemon {
  readonly name: string;
  readonly pid: number;
  /** Private folder for this daemon's pid, config and log files. */
  readonly dir: string;
  readonly logFile: string;
  /** stdout+stderr so far. */
  logs(): string;
  /** Resolves with the exit code/signal once the process is gone. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  isRunning(): boolean;
  /** Sends a signal to the daemon's process group. */
  signal(sig: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after `graceMs` (default 3 s); removes the private folder. */
  stop(graceMs?: number): Promise<void>;
}

export function makeDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `flt-${prefix}-`));
}

export function startDaemon(spec: DaemonSpec): Daemon {
  const dir = spec.dir ?? makeDir(spec.name.replace(/[^a-z0-9-]/gi, '_'));
  const logFile = join(dir, `${spec.name.replace(/[^a-z0-9-]/gi, '_')}.log`);
  const fd = openSync(logFile, 'a');
  const args = (spec.args ?? []).map((a) => a.replaceAll('{dir}', dir));
  const [cmd, argv] = spec.netns ? ['ip', ['netns', 'exec', spec.netns, spec.command, ...args]] : [spec.command, args];
  const child: ChildProcess = spawn(cmd, argv, {
    detached: true,
    stdio: ['ignore', fd, fd],
    env: { ...process.env, ...spec.env },
    cwd: dir,
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${spec.name}: ${spec.command}`);
  const pid = child.pid;
  let running = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      running = false;
      resolve({ code, signal });
    });
    child.once('error', () => {
      running = false;
      resolve({ code: null, signal: null });
    });
  });
  const killGroup = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        // gone
      }
    }
  };
  const removeDir = () => {
    if (!spec.keepDir && !spec.dir) rmSync(dir, { recursive: true, force: true });
  };
  const unregister = registerCleanup(`daemon ${spec.name} (${pid})`, () => {
    if (running) killGroup('SIGKILL');
    removeDir();
  });
  let stopping: Promise<void> | undefined;
  return {
    name: spec.name,
    pid,
    dir,
    logFile,
    logs: () => {
      try {
        return readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    },
    exited,
    isRunning: () => running,
    signal: killGroup,
    stop(graceMs = 3000) {
      stopping ??= (async () => {
        if (running) {
          killGroup('SIGTERM');
          const timer = setTimeout(() => killGroup('SIGKILL'), graceMs);
          await exited;
          clearTimeout(timer);
        }
        unregister();
      })();
      return stopping;
    },
  };
}

/** Waits until the daemon's log contains `text` (or fails early if it exits). */
export async function waitForLog(d: Daemon, text: string | RegExp, timeoutMs = 10_000): Promise<void> {
  await waitFor(
    () => {
      const logs = d.logs();
      if (typeof text === 'string' ? logs.includes(text) : text.test(logs)) return true;
      if (!d.isRunning()) throw new Error(`${d.name} exited before logging ${String(text)}:\n${logs.slice(-2000)}`);
      return false;
    },
    { timeoutMs, what: `${d.name} to log ${String(text)}` },
  );
}
