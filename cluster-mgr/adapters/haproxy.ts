// TrafficSwitch over the HAProxy runtime API (stats socket `level admin`, unix or TCP).
// set(): `set server B/S state …` and `set server B/S weight N` in every configured backend, then
// `show servers state B` to confirm. HAProxy forgets runtime changes on restart, so the switch keeps
// the desired state per member and `reassert()` re-applies it; `startReassert()` does that
// periodically whenever what HAProxy reports drifts from what was asked (restart, reload, operator).
//
// Several front hosts (an HA front behind a keepalived VIP): every change goes to every host's
// runtime API; a change counts when at least one host confirmed it, and hosts that could not be
// reached are reported through `endpoints()`. `observe()` reports a member as converged only when
// every reachable host agrees with what was asked, so a host that missed a change (down at the time,
// restarted, or a new VIP holder) makes the daemon re-apply it on its next pass.
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { MemberTraffic, ServingState, TrafficEndpoint, TrafficSwitch } from '../contracts/index';

/** Mutual TLS to a runtime API behind a TLS frontend: PEM files, read at each connection (rotation). */
export interface HaproxyTls {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** Name to verify the server certificate against. @default - the host (an IP SAN for an address) */
  readonly serverName?: string;
}

export type HaproxySocket = string | { readonly host: string; readonly port: number; readonly tls?: HaproxyTls };

export interface HaproxyOptions {
  /** Unix socket path or TCP address of the runtime API (`stats socket … level admin`). */
  readonly socket?: HaproxySocket;
  /** Several front hosts' runtime APIs: every change goes to all of them. */
  readonly sockets?: readonly HaproxySocket[];
  /** Backends the member servers live in; every change is applied to all of them. */
  readonly backends: readonly string[];
  /** Member name → server name in the backends. @default - the member name */
  readonly servers?: Readonly<Record<string, string>>;
  /** Per command. @default 3000 */
  readonly timeoutMs?: number;
}

/** A runtime API command failed or its effect could not be confirmed. */
export class HaproxyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HaproxyError';
  }
}

/** One row of `show servers state` (the fields the switch uses). */
export interface HaproxyServerState {
  readonly backend: string;
  readonly server: string;
  readonly address: string;
  readonly port: number;
  /** 0 stopped, 1 starting, 2 running, 3 stopping. */
  readonly opState: number;
  /** Bitfield: 0x01 forced maint, 0x08 forced drain (others: inherited/config maint). */
  readonly adminState: number;
  readonly userWeight: number;
  /** Bitfield: 0x02 check configured, 0x04 enabled, 0x08 paused (maint). */
  readonly checkState: number;
}

const ADMF_FMAINT = 0x01;
const ADMF_IMAINT = 0x02;
const ADMF_CMAINT = 0x04;
const ADMF_FDRAIN = 0x08;
const ADMF_IDRAIN = 0x10;
const ADMF_RMAINT = 0x20;
const CHK_CONFIGURED = 0x02;
const CHK_ENABLED = 0x04;
const CHK_PAUSED = 0x08;

/** Parses `show servers state` output (format version 1). */
export function parseServersState(text: string): HaproxyServerState[] {
  const lines = text.split('\n').map((l) => l.trim());
  if (lines[0] !== '1') throw new HaproxyError(`unexpected "show servers state" output: ${text.slice(0, 200)}`);
  const header = lines.find((l) => l.startsWith('#'));
  if (!header) throw new HaproxyError('"show servers state" output has no header line');
  const cols = header.slice(1).trim().split(/\s+/);
  const idx = (name: string) => {
    const i = cols.indexOf(name);
    if (i < 0) throw new HaproxyError(`"show servers state" lacks column ${name}`);
    return i;
  };
  const c = {
    be: idx('be_name'),
    srv: idx('srv_name'),
    addr: idx('srv_addr'),
    port: idx('srv_port'),
    op: idx('srv_op_state'),
    admin: idx('srv_admin_state'),
    uw: idx('srv_uweight'),
    chk: idx('srv_check_state'),
  };
  const out: HaproxyServerState[] = [];
  for (const line of lines.slice(1)) {
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(/\s+/);
    out.push({
      backend: f[c.be] ?? '',
      server: f[c.srv] ?? '',
      address: f[c.addr] ?? '',
      port: Number(f[c.port]),
      opState: Number(f[c.op]),
      adminState: Number(f[c.admin]),
      userWeight: Number(f[c.uw]),
      checkState: Number(f[c.chk]),
    });
  }
  return out;
}

/** Maps one HAProxy server row to the port's MemberTraffic. */
export function toMemberTraffic(s: HaproxyServerState): MemberTraffic {
  const maint = (s.adminState & (ADMF_FMAINT | ADMF_IMAINT | ADMF_CMAINT | ADMF_RMAINT)) !== 0;
  const drain = (s.adminState & (ADMF_FDRAIN | ADMF_IDRAIN)) !== 0;
  const state: ServingState = maint ? 'maint' : drain ? 'drain' : 'ready';
  const checked = (s.checkState & CHK_CONFIGURED) !== 0 && (s.checkState & CHK_ENABLED) !== 0 && (s.checkState & CHK_PAUSED) === 0;
  const base = { state, weight: s.userWeight };
  return checked ? { ...base, checkUp: s.opState === 2 || s.opState === 3 } : base;
}

const RANK: Record<ServingState, number> = { ready: 0, drain: 1, maint: 2 };

/** Merges a member's rows over several backends: most restrictive state, lowest weight, all checks up. */
export function mergeMemberTraffic(rows: readonly MemberTraffic[]): MemberTraffic | undefined {
  if (rows.length === 0) return undefined;
  let state: ServingState = 'ready';
  let weight = Infinity;
  let checkUp: boolean | undefined;
  for (const r of rows) {
    if (RANK[r.state] > RANK[state]) state = r.state;
    weight = Math.min(weight, r.weight);
    if (r.checkUp !== undefined) checkUp = (checkUp ?? true) && r.checkUp;
  }
  return checkUp === undefined ? { state, weight } : { state, weight, checkUp };
}

/** `host:port` or the socket path (for messages and metrics). */
export function endpointName(socket: HaproxySocket): string {
  return typeof socket === 'string' ? socket : `${socket.host.includes(':') ? `[${socket.host}]` : socket.host}:${socket.port}`;
}

function openSocket(socket: HaproxySocket): Socket {
  if (typeof socket === 'string') return connect({ path: socket });
  if (!socket.tls) return connect({ host: socket.host, port: socket.port });
  const t = socket.tls;
  return tlsConnect({
    host: socket.host,
    port: socket.port,
    ca: readFileSync(t.caFile),
    cert: readFileSync(t.certFile),
    key: readFileSync(t.keyFile),
    servername: t.serverName ?? (/^[\d.]+$|:/.test(socket.host) ? undefined : socket.host),
    ...(t.serverName ? { checkServerIdentity: () => undefined } : {}),
  });
}

/** Sends one command on a fresh runtime-API connection and returns the whole reply. */
export function haproxyCommand(socket: HaproxySocket, command: string, timeoutMs = 3000, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new HaproxyError('aborted'));
    const where = endpointName(socket);
    let sock: Socket;
    try {
      sock = openSocket(socket);
    } catch (err) {
      return reject(new HaproxyError(`runtime API ${where}: ${(err as Error).message}`));
    }
    let out = '';
    let settled = false;
    const done = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      sock.destroy();
      if (err) reject(err);
      else resolve(out);
    };
    const onAbort = () => done(new HaproxyError(`runtime API ${where}: aborted`));
    const timer = setTimeout(() => done(new HaproxyError(`runtime API ${where}: no reply to "${command}" within ${timeoutMs} ms`)), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    sock.setEncoding('utf8');
    sock.on(typeof socket !== 'string' && socket.tls ? 'secureConnect' : 'connect', () => sock.write(`${command}\n`));
    sock.on('data', (d: string) => (out += d));
    sock.on('end', () => done());
    sock.on('error', (err) => done(new HaproxyError(`runtime API ${where}: ${err.message}`)));
  });
}

export class HaproxySwitch implements TrafficSwitch {
  readonly kind = 'haproxy' as const;
  private readonly desired = new Map<string, { state: ServingState; weight?: number }>();
  private readonly targets: readonly HaproxySocket[];
  private readonly status = new Map<string, TrafficEndpoint>();

  constructor(private readonly opts: HaproxyOptions) {
    if (opts.backends.length === 0) throw new HaproxyError('haproxy.backends: give at least one backend name');
    this.targets = [...(opts.socket !== undefined ? [opts.socket] : []), ...(opts.sockets ?? [])];
    if (this.targets.length === 0) throw new HaproxyError('haproxy: give the runtime API socket (unix path) or the front hosts\' addresses');
  }

  private server(member: string): string {
    return this.opts.servers?.[member] ?? member;
  }

  private async cmd(target: HaproxySocket, command: string, signal?: AbortSignal): Promise<string> {
    return haproxyCommand(target, command, this.opts.timeoutMs ?? 3000, signal);
  }

  /** Whether the last call reached each runtime API. */
  endpoints(): TrafficEndpoint[] {
    return this.targets.map((t) => this.status.get(endpointName(t)) ?? { endpoint: endpointName(t), up: true });
  }

  /** Runs `fn` on every target; failures are recorded per endpoint; throws only when none succeeded. */
  private async onAll<T>(fn: (t: HaproxySocket) => Promise<T>): Promise<T[]> {
    const results = await Promise.all(
      this.targets.map(async (t) => {
        const endpoint = endpointName(t);
        try {
          const v = await fn(t);
          this.status.set(endpoint, { endpoint, up: true });
          return { ok: true as const, v };
        } catch (err) {
          const error = (err as Error).message;
          this.status.set(endpoint, { endpoint, up: false, error });
          return { ok: false as const, error };
        }
      }),
    );
    const ok = results.flatMap((r) => (r.ok ? [r.v] : []));
    if (ok.length === 0) throw new HaproxyError(results.map((r) => (r.ok ? '' : r.error)).join('; '));
    return ok;
  }

  /** Rows of every configured backend on one runtime API. */
  private async serversStateOn(target: HaproxySocket, signal?: AbortSignal): Promise<HaproxyServerState[]> {
    const rows: HaproxyServerState[] = [];
    for (const be of this.opts.backends) {
      const text = await this.cmd(target, `show servers state ${be}`, signal);
      if (/^Can't find backend/m.test(text)) throw new HaproxyError(`haproxy ${endpointName(target)} has no backend "${be}" (check traffic.haproxy.backends)`);
      rows.push(...parseServersState(text));
    }
    return rows;
  }

  /** Rows of every configured backend (the first reachable runtime API). */
  async serversState(signal?: AbortSignal): Promise<HaproxyServerState[]> {
    return (await this.onAll((t) => this.serversStateOn(t, signal)))[0]!;
  }

  async set(member: string, state: ServingState, weight?: number, signal?: AbortSignal): Promise<void> {
    if (weight !== undefined && (!Number.isInteger(weight) || weight < 0 || weight > 256)) {
      throw new HaproxyError(`weight for ${member}: ${weight} is not an integer in 0..256`);
    }
    this.desired.set(member, { state, weight });
    await this.onAll((t) => this.apply(t, member, state, weight, signal));
  }

  private async apply(target: HaproxySocket, member: string, state: ServingState, weight: number | undefined, signal?: AbortSignal): Promise<void> {
    const srv = this.server(member);
    for (const be of this.opts.backends) {
      // Into `ready`: the weight first, so the server never serves at its old weight (a drained
      // member's 0, or full weight on the first ramp step); out of `ready`: the state first.
      const stateCmd = `set server ${be}/${srv} state ${state}`;
      const cmds = weight === undefined ? [stateCmd] : state === 'ready' ? [`set server ${be}/${srv} weight ${weight}`, stateCmd] : [stateCmd, `set server ${be}/${srv} weight ${weight}`];
      for (const c of cmds) {
        const reply = (await this.cmd(target, c, signal)).trim();
        if (reply !== '') throw new HaproxyError(`"${c}" failed: ${reply}`);
      }
    }
    // Read back and confirm in every backend.
    const rows = await this.serversStateOn(target, signal);
    for (const be of this.opts.backends) {
      const row = rows.find((r) => r.backend === be && r.server === srv);
      if (!row) throw new HaproxyError(`backend ${be} has no server ${srv} for member ${member}`);
      const got = toMemberTraffic(row);
      if (got.state !== state || (weight !== undefined && got.weight !== weight)) {
        throw new HaproxyError(`${be}/${srv}: asked ${state}${weight !== undefined ? ` weight ${weight}` : ''}, haproxy reports ${got.state} weight ${got.weight}`);
      }
    }
  }

  async observe(signal?: AbortSignal): Promise<Record<string, MemberTraffic>> {
    const perTarget = await this.onAll((t) => this.serversStateOn(t, signal));
    const serverToMember = new Map<string, string>();
    for (const [m, s] of Object.entries(this.opts.servers ?? {})) serverToMember.set(s, m);
    const views = perTarget.map((rows) => {
      const byServer = new Map<string, MemberTraffic[]>();
      for (const r of rows) byServer.set(r.server, [...(byServer.get(r.server) ?? []), toMemberTraffic(r)]);
      const out = new Map<string, MemberTraffic>();
      for (const [srv, list] of byServer) {
        const merged = mergeMemberTraffic(list);
        if (merged) out.set(serverToMember.get(srv) ?? srv, merged);
      }
      return out;
    });
    const out: Record<string, MemberTraffic> = {};
    for (const m of new Set(views.flatMap((v) => [...v.keys()]))) {
      const rows = views.map((v) => v.get(m)).filter((x): x is MemberTraffic => x !== undefined);
      const want = this.desired.get(m);
      // A host that disagrees with what was asked is what the member "has": the daemon re-applies.
      const behind = want && rows.find((r) => r.state !== want.state || (want.weight !== undefined && r.weight !== want.weight));
      out[m] = behind ?? mergeMemberTraffic(rows)!;
    }
    return out;
  }

  /** Members whose observed state differs from what was last asked. */
  async drift(signal?: AbortSignal): Promise<string[]> {
    if (this.desired.size === 0) return [];
    const seen = await this.observe(signal);
    const out: string[] = [];
    for (const [m, want] of this.desired) {
      const got = seen[m];
      // A member HAProxy does not know cannot be re-asserted (set() reported it already).
      if (!got) continue;
      if ( got.state !== want.state || (want.weight !== undefined && got.weight !== want.weight)) out.push(m);
    }
    return out;
  }

  /** Re-applies the desired state of every member set so far (after an HAProxy restart/reload). */
  async reassert(signal?: AbortSignal): Promise<string[]> {
    const drifted = await this.drift(signal);
    for (const m of drifted) {
      const want = this.desired.get(m)!;
      await this.onAll((t) => this.apply(t, m, want.state, want.weight, signal));
    }
    return drifted;
  }

  /**
   * Checks for drift every `intervalMs` and re-asserts; stops when `signal` aborts. Errors (HAProxy
   * down while restarting) go to `onError` and the loop continues.
   */
  startReassert(opts: { intervalMs: number; signal: AbortSignal; onReassert?: (members: string[]) => void; onError?: (err: Error) => void }): void {
    let running = false;
    const tick = async () => {
      if (running || opts.signal.aborted) return;
      running = true;
      try {
        const fixed = await this.reassert(opts.signal);
        if (fixed.length > 0) opts.onReassert?.(fixed);
      } catch (err) {
        if (!opts.signal.aborted) opts.onError?.(err as Error);
      } finally {
        running = false;
      }
    };
    const timer = setInterval(() => void tick(), opts.intervalMs);
    opts.signal.addEventListener('abort', () => clearInterval(timer), { once: true });
  }
}
