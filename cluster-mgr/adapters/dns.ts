// TrafficSwitch over DNS: RFC 2136 dynamic updates signed with TSIG (HMAC-SHA256), driven through
// `nsupdate` from bind9-dnsutils; read back with `dig` against the same authoritative server.
//
// Why the external tool rather than an in-process encoder: TSIG signing and response verification,
// TCP fallback for truncated replies and update-prerequisite handling are exactly where a small
// hand-written encoder goes subtly wrong, while nsupdate is the reference client for BIND and ships
// in the same Debian package as dig. The key stays in its file (`nsupdate -k FILE`), never on a
// command line or in logs.
//
// Drain/maint = delete the member's A records from the service name; ready = add them back with a
// low TTL. DNS has no weights: any weight > 0 means "in".
import type { MemberTraffic, ServingState, TrafficSwitch } from '../contracts/index';
import { runCommand } from './exec';

export interface DnsOptions {
  /** Authoritative server, `host:port` or host (port 53). */
  readonly server: string;
  readonly zone: string;
  /** The service name whose A records are switched, e.g. `shop.example.com`. */
  readonly record: string;
  /** TSIG key file in named.conf syntax (as written by `tsig-keygen`). */
  readonly tsigKeyFile: string;
  /** Member → its IPv4 addresses in the record. */
  readonly members: Readonly<Record<string, readonly string[]>>;
  /** TTL of records added back. @default 5 */
  readonly ttl?: number;
  /** @default 'nsupdate' */
  readonly nsupdate?: string;
  /** @default 'dig' */
  readonly dig?: string;
  /** Per command. @default 5000 */
  readonly timeoutMs?: number;
}

export class DnsUpdateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DnsUpdateError';
  }
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/i;

export function splitServer(server: string): { host: string; port: number } {
  const m = /^(.*?)(?::(\d+))?$/.exec(server)!;
  return { host: m[1]!, port: m[2] ? Number(m[2]) : 53 };
}

const fqdn = (n: string) => (n.endsWith('.') ? n : `${n}.`);

/** The nsupdate script for one member change (pure). */
export function updateScript(opts: Pick<DnsOptions, 'server' | 'zone' | 'record' | 'ttl'>, addresses: readonly string[], present: boolean): string {
  const { host, port } = splitServer(opts.server);
  const lines = [`server ${host} ${port}`, `zone ${fqdn(opts.zone)}`];
  for (const a of addresses) {
    lines.push(present ? `update add ${fqdn(opts.record)} ${opts.ttl ?? 5} IN A ${a}` : `update delete ${fqdn(opts.record)} IN A ${a}`);
  }
  lines.push('send', '');
  return lines.join('\n');
}

export function checkDnsOptions(o: DnsOptions): string[] {
  const out: string[] = [];
  if (!NAME.test(o.zone)) out.push(`traffic.dns.zone: ${JSON.stringify(o.zone)} is not a DNS name`);
  if (!NAME.test(o.record)) out.push(`traffic.dns.record: ${JSON.stringify(o.record)} is not a DNS name`);
  else if (!fqdn(o.record).toLowerCase().endsWith(fqdn(o.zone).toLowerCase())) out.push(`traffic.dns.record: ${o.record} is not inside zone ${o.zone}`);
  for (const [m, addrs] of Object.entries(o.members)) {
    if (addrs.length === 0) out.push(`traffic.dns.members.${m}: give at least one IPv4 address`);
    for (const a of addrs) if (!IPV4.test(a)) out.push(`traffic.dns.members.${m}: ${JSON.stringify(a)} is not an IPv4 address`);
  }
  const ttl = o.ttl ?? 5;
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > 86400) out.push(`traffic.dns.ttl: ${ttl} must be an integer number of seconds in 0..86400`);
  return out;
}

export class DnsSwitch implements TrafficSwitch {
  readonly kind = 'dns' as const;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: DnsOptions) {
    const problems = checkDnsOptions(opts);
    if (problems.length > 0) throw new DnsUpdateError(problems.join('; '));
  }

  /** A records currently served for the record (authoritative answer). */
  async addresses(signal?: AbortSignal): Promise<string[]> {
    const { host, port } = splitServer(this.opts.server);
    const r = await runCommand([this.opts.dig ?? 'dig', `@${host}`, '-p', String(port), '+norecurse', '+short', '+time=2', '+tries=2', fqdn(this.opts.record), 'A'], {
      timeoutMs: this.opts.timeoutMs ?? 5000,
      signal,
    });
    if (r.code !== 0) throw new DnsUpdateError(`dig ${this.opts.record} @${this.opts.server} failed: ${r.output}`);
    return r.output
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => IPV4.test(l));
  }

  set(member: string, state: ServingState, weight?: number, signal?: AbortSignal): Promise<void> {
    const run = this.queue.then(() => this.apply(member, state, weight, signal));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async apply(member: string, state: ServingState, weight: number | undefined, signal?: AbortSignal): Promise<void> {
    const addrs = this.opts.members[member];
    if (!addrs) throw new DnsUpdateError(`dns: member ${member} has no addresses in traffic.dns.members (known: ${Object.keys(this.opts.members).join(', ')})`);
    const present = state === 'ready' && (weight === undefined || weight > 0);
    const script = updateScript(this.opts, addrs, present);
    const r = await runCommand([this.opts.nsupdate ?? 'nsupdate', '-k', this.opts.tsigKeyFile], { timeoutMs: this.opts.timeoutMs ?? 5000, input: script, signal });
    if (r.code !== 0) throw new DnsUpdateError(`nsupdate for ${member} (${present ? 'add' : 'delete'} ${this.opts.record}) failed: ${r.output || `exit ${r.code}`}`);
    const now = await this.addresses(signal);
    const ok = present ? addrs.every((a) => now.includes(a)) : addrs.every((a) => !now.includes(a));
    if (!ok) throw new DnsUpdateError(`after the update ${this.opts.record} serves [${now.join(', ')}]; expected ${member}'s ${addrs.join(', ')} ${present ? 'present' : 'absent'}`);
    if (present && weight !== undefined) this.weights.set(member, weight);
  }

  /**
   * DNS has no weights: a present member reports the weight it was last set to (100 before any set),
   * so a caller comparing observed with desired weights (the daemon's ramp, a MultiSwitch merged with
   * HAProxy) does not re-send the same update every pass.
   */
  private readonly weights = new Map<string, number>();

  async observe(signal?: AbortSignal): Promise<Record<string, MemberTraffic>> {
    const now = await this.addresses(signal);
    const out: Record<string, MemberTraffic> = {};
    for (const [m, addrs] of Object.entries(this.opts.members)) {
      out[m] = addrs.every((a) => now.includes(a)) ? { state: 'ready', weight: this.weights.get(m) ?? 100 } : { state: 'drain', weight: 0 };
    }
    return out;
  }
}
