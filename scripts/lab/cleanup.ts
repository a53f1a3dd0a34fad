// A process-wide cleanup registry: everything a lab helper creates registers its teardown here, so
// it runs on explicit destroy, in afterAll hooks, and as a last resort when the worker exits.
import { execFileSync } from 'node:child_process';

type SyncCleanup = { id: number; label: string; sync: () => void };
const pending = new Map<number, SyncCleanup>();
let nextId = 1;
let hooked = false;

function runAllSync(): void {
  for (const c of [...pending.values()].reverse()) {
    try {
      c.sync();
    } catch {
      // best effort at exit
    }
  }
  pending.clear();
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', runAllSync);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      runAllSync();
      process.kill(process.pid, sig);
    });
  }
}

/** Registers a synchronous teardown; returns a function that runs it once and unregisters it. */
export function registerCleanup(label: string, sync: () => void): () => void {
  hook();
  const id = nextId++;
  pending.set(id, { id, label, sync });
  return () => {
    const c = pending.get(id);
    if (!c) return;
    pending.delete(id);
    c.sync();
  };
}

/** Labels of teardowns not yet run (for leak assertions). */
export function pendingCleanups(): string[] {
  return [...pending.values()].map((c) => c.label);
}

/** Runs a command synchronously, ignoring failure (teardown paths). */
export function quiet(cmd: string, args: string[]): void {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
  } catch {
    // already gone
  }
}
