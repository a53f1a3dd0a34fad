// TrafficSwitch over an nginx upstream file: render the upstream block, write it atomically (temp
// file + rename in the same folder), run the test command (`nginx -t …`), then the reload command.
// A failed test or reload puts the previous file back and throws NginxConfigError (the daemon turns
// it into an alert). Drained member = `down` (or removed, `drainMode: 'remove'`); weight = `weight=`.
// Open-source nginx has no active health checks, so observe() has no checkUp.
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { MemberTraffic, ServingState, TrafficSwitch } from '../contracts/index';
import { runCommand } from './exec';

export interface NginxOptions {
  /** The file holding the upstream block (included from the http block). */
  readonly upstreamFile: string;
  /** Upstream name. */
  readonly upstream: string;
  /** Member → `host:port` of its server in the upstream (written in this order). */
  readonly servers: Readonly<Record<string, string>>;
  /** @default ["nginx", "-t"] */
  readonly test?: readonly string[];
  /** @default ["nginx", "-s", "reload"] */
  readonly reload?: readonly string[];
  /** @default 'down' */
  readonly drainMode?: 'down' | 'remove';
  /** Weight of members not yet set. @default 100 */
  readonly defaultWeight?: number;
  /** Extra lines inside the upstream block (e.g. `keepalive 16;`). */
  readonly extra?: readonly string[];
  /** Per command. @default 10000 */
  readonly timeoutMs?: number;
}

/** The config test or reload failed; the previous upstream file was restored. */
export class NginxConfigError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
    this.name = 'NginxConfigError';
  }
}

export interface UpstreamServer {
  readonly address: string;
  readonly weight?: number;
  readonly down: boolean;
}

/** Renders the managed upstream file. */
export function renderUpstream(name: string, members: readonly { address: string; state: ServingState; weight: number }[], opts: { drainMode?: 'down' | 'remove'; extra?: readonly string[] } = {}): string {
  const lines = ['# Managed by cluster-mgr: rewritten on every traffic change. Do not edit.', `upstream ${name} {`];
  for (const m of members) {
    if (m.state !== 'ready' && opts.drainMode === 'remove') continue;
    if (m.state !== 'ready' || m.weight <= 0) lines.push(`    server ${m.address} down;`);
    else lines.push(`    server ${m.address} weight=${Math.max(1, Math.round(m.weight))};`);
  }
  for (const e of opts.extra ?? []) lines.push(`    ${e}`);
  lines.push('}', '');
  return lines.join('\n');
}

/** Parses `server ADDR [weight=N] [down];` lines of the named upstream block. */
export function parseUpstream(text: string, name: string): UpstreamServer[] {
  const block = new RegExp(`upstream\\s+${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*\\{([^}]*)\\}`).exec(text);
  if (!block) return [];
  const out: UpstreamServer[] = [];
  for (const raw of block[1]!.split(';')) {
    const parts = raw.replace(/#.*$/gm, '').trim().split(/\s+/);
    if (parts[0] !== 'server' || !parts[1]) continue;
    const weight = parts.find((p) => p.startsWith('weight='));
    out.push({ address: parts[1], down: parts.includes('down'), ...(weight ? { weight: Number(weight.slice(7)) } : {}) });
  }
  return out;
}

async function writeAtomic(file: string, content: string): Promise<void> {
  const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, content, { mode: 0o644 });
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

async function readOrUndefined(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export class NginxSwitch implements TrafficSwitch {
  readonly kind = 'nginx' as const;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: NginxOptions) {
    if (Object.keys(opts.servers).length === 0) throw new NginxConfigError('nginx.servers: map at least one member to its host:port', '');
  }

  /** Current per-member state as written in the upstream file. */
  private async current(): Promise<Map<string, { state: ServingState; weight: number }>> {
    const text = await readOrUndefined(this.opts.upstreamFile);
    const parsed = text === undefined ? undefined : parseUpstream(text, this.opts.upstream);
    const dflt = this.opts.defaultWeight ?? 100;
    const out = new Map<string, { state: ServingState; weight: number }>();
    for (const [member, address] of Object.entries(this.opts.servers)) {
      const s = parsed?.find((p) => p.address === address);
      if (!parsed) out.set(member, { state: 'ready', weight: dflt });
      else if (!s) out.set(member, { state: 'drain', weight: 0 });
      else out.set(member, s.down ? { state: 'drain', weight: 0 } : { state: 'ready', weight: s.weight ?? 1 });
    }
    return out;
  }

  set(member: string, state: ServingState, weight?: number, signal?: AbortSignal): Promise<void> {
    const run = this.queue.then(() => this.apply(member, state, weight, signal));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async apply(member: string, state: ServingState, weight: number | undefined, signal?: AbortSignal): Promise<void> {
    if (!(member in this.opts.servers)) {
      throw new NginxConfigError(`nginx: member ${member} has no server in traffic.nginx.servers (known: ${Object.keys(this.opts.servers).join(', ')})`, '');
    }
    const file = this.opts.upstreamFile;
    const before = await readOrUndefined(file);
    const cur = await this.current();
    const prev = cur.get(member)!;
    cur.set(member, { state, weight: state === 'ready' ? (weight ?? (prev.state === 'ready' ? prev.weight : this.opts.defaultWeight ?? 100)) : 0 });
    const content = renderUpstream(
      this.opts.upstream,
      Object.entries(this.opts.servers).map(([m, address]) => ({ address, ...cur.get(m)! })),
      { drainMode: this.opts.drainMode, extra: this.opts.extra },
    );
    if (content === before) return;
    await writeAtomic(file, content);
    const timeoutMs = this.opts.timeoutMs ?? 10_000;
    const restore = async () => {
      if (before === undefined) await rm(file, { force: true });
      else await writeAtomic(file, before);
    };
    const test = await runCommand(this.opts.test ?? ['nginx', '-t'], { timeoutMs, signal }).catch((err: Error) => ({ code: -1, output: err.message }));
    if (test.code !== 0) {
      await restore();
      throw new NginxConfigError(`nginx config test failed after setting ${member} ${state}; kept the previous ${file}: ${lastLines(test.output)}`, test.output);
    }
    const reload = await runCommand(this.opts.reload ?? ['nginx', '-s', 'reload'], { timeoutMs, signal }).catch((err: Error) => ({ code: -1, output: err.message }));
    if (reload.code !== 0) {
      await restore();
      throw new NginxConfigError(`nginx reload failed after setting ${member} ${state}; restored the previous ${file}: ${lastLines(reload.output)}`, reload.output);
    }
  }

  async observe(): Promise<Record<string, MemberTraffic>> {
    return Object.fromEntries(await this.current());
  }
}

function lastLines(s: string): string {
  return s.split('\n').filter(Boolean).slice(-2).join(' | ') || '(no output)';
}
