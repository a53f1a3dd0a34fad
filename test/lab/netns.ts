// Network-namespace test hosts on a private bridge. The bridge lives in its own "switch" namespace,
// so the root namespace never sees the lab's 10.x addresses or interfaces. Names carry the owning
// pid, so a later run can sweep what a crashed run left behind without touching live labs.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { registerCleanup } from './cleanup';
import { runOk, type RunResult, run } from './exec';

export const LAB_PREFIX = 'flt';

export interface LabHost {
  /** Short name given by the test. */
  readonly name: string;
  /** The namespace name (for `ip netns exec`). */
  readonly netns: string;
  /** Address on the lab bridge (no prefix). */
  readonly address: string;
  /** Interface inside the namespace carrying `address` (always `eth0`). */
  readonly iface: string;
  /** Runs a command inside the namespace. */
  exec(cmd: string, args?: readonly string[], opts?: { timeoutMs?: number; input?: string }): Promise<RunResult>;
  /** Like exec, throws on non-zero exit. */
  execOk(cmd: string, args?: readonly string[], opts?: { timeoutMs?: number; input?: string }): Promise<RunResult>;
  /** Takes the host's link down (a cable pull: TCP sessions time out instead of resetting). */
  linkDown(): Promise<void>;
  linkUp(): Promise<void>;
}

export interface Lab {
  readonly id: string;
  /** The lab subnet prefix length (addresses are `${base}.N/24`). */
  readonly prefix: number;
  /** Adds a host; `index` 1–250 picks its address (`10.X.Y.index`). */
  addHost(name: string, index: number): Promise<LabHost>;
  readonly hosts: ReadonlyMap<string, LabHost>;
  /** Namespace names this lab created (switch included). */
  namespaces(): string[];
  destroy(): Promise<void>;
}

function ipSync(args: string[]): void {
  execFileSync('ip', args, { stdio: 'ignore', timeout: 10_000 });
}

/** Lists the lab namespaces currently present. */
export function listLabNamespaces(): string[] {
  try {
    const out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: 10_000 });
    return out
      .split('\n')
      .map((l) => l.split(' ')[0]!)
      .filter((n) => n.startsWith(LAB_PREFIX));
  } catch {
    return [];
  }
}

/** Owning pid encoded in a lab namespace name (`flt<pid>x<id>-…`). */
export function ownerPid(ns: string): number | undefined {
  const m = /^flt(\d+)x/.exec(ns);
  return m ? Number(m[1]) : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Deletes lab namespaces whose owning process is gone (left by a crashed run). */
export function sweepStaleNamespaces(): string[] {
  const removed: string[] = [];
  for (const ns of listLabNamespaces()) {
    const pid = ownerPid(ns);
    if (pid !== undefined && !alive(pid)) {
      killNamespaceProcesses(ns);
      try {
        ipSync(['netns', 'delete', ns]);
        removed.push(ns);
      } catch {
        // someone else removed it
      }
    }
  }
  return removed;
}

/** Kills every process inside a namespace (daemons a test forgot). */
export function killNamespaceProcesses(ns: string): void {
  try {
    const out = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', timeout: 10_000 });
    for (const pid of out.split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone
      }
    }
  } catch {
    // namespace gone
  }
}

let labCounter = 0;

/**
 * Creates a lab: a switch namespace with a bridge, to which hosts attach via veth pairs.
 * `subnet` is the first three octets of the lab's /24 (default a random 10.200–249.x).
 */
export async function createLab(opts: { subnet?: string } = {}): Promise<Lab> {
  const id = `${LAB_PREFIX}${process.pid}x${(labCounter++).toString(36)}${randomBytes(2).toString('hex')}`;
  // 10.200–10.249, skipping 10.244: the default pod CIDR (10.244.0.0/16), inside which a site's host
  // addresses are rejected — one lab in 50 drew it and the site under test failed to load.
  const second = 200 + Math.floor(Math.random() * 49);
  const base = opts.subnet ?? `10.${second >= 244 ? second + 1 : second}.${Math.floor(Math.random() * 250)}`;
  const sw = `${id}-sw`;
  const created: string[] = [];
  const hosts = new Map<string, LabHost>();

  const destroySync = () => {
    for (const ns of [...created].reverse()) {
      killNamespaceProcesses(ns);
      try {
        ipSync(['netns', 'delete', ns]);
      } catch {
        // already gone
      }
    }
    created.length = 0;
  };
  const unregister = registerCleanup(`lab ${id}`, destroySync);

  await runOk('ip', ['netns', 'add', sw]);
  created.push(sw);
  await runOk('ip', ['-n', sw, 'link', 'add', 'br0', 'type', 'bridge']);
  await runOk('ip', ['-n', sw, 'link', 'set', 'br0', 'up']);
  await runOk('ip', ['-n', sw, 'link', 'set', 'lo', 'up']);

  const lab: Lab = {
    id,
    prefix: 24,
    hosts,
    namespaces: () => [...created],
    async addHost(name, index) {
      if (hosts.has(name)) throw new Error(`lab host ${name} exists`);
      if (index < 1 || index > 250) throw new Error(`lab host index ${index} out of range 1–250`);
      const ns = `${id}-${name}`;
      await runOk('ip', ['netns', 'add', ns]);
      created.push(ns);
      const port = `p${index}`;
      await runOk('ip', ['link', 'add', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', port, 'netns', sw]);
      await runOk('ip', ['-n', sw, 'link', 'set', port, 'master', 'br0']);
      await runOk('ip', ['-n', sw, 'link', 'set', port, 'up']);
      const address = `${base}.${index}`;
      await runOk('ip', ['-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
      await runOk('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
      await runOk('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      const exec = (cmd: string, args: readonly string[] = [], o: { timeoutMs?: number; input?: string } = {}) =>
        run('ip', ['netns', 'exec', ns, cmd, ...args], o);
      const host: LabHost = {
        name,
        netns: ns,
        address,
        iface: 'eth0',
        exec,
        async execOk(cmd, args = [], o = {}) {
          const r = await exec(cmd, args, o);
          if (r.code !== 0) throw new Error(`[${name}] ${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
          return r;
        },
        linkDown: async () => {
          await runOk('ip', ['-n', sw, 'link', 'set', port, 'down']);
        },
        linkUp: async () => {
          await runOk('ip', ['-n', sw, 'link', 'set', port, 'up']);
        },
      };
      hosts.set(name, host);
      return host;
    },
    async destroy() {
      unregister();
    },
  };
  return lab;
}
