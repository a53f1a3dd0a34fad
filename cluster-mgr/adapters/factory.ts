// Builds the traffic switch, alerter and witness from the Federation's `traffic:` / `alerting:`
// blocks (structurally typed, so it works with the config schema in cluster-mgr/config). Problems
// come back as messages naming the field, the value and the fix — never thrown mid-run.
import { isAbsolute, resolve } from 'node:path';
import type { Alerter, MemberTraffic, ServingState, TrafficSwitch } from '../contracts/index';
import { AlertmanagerAlerter } from './alertmanager';
import { checkDnsOptions, DnsSwitch } from './dns';
import { HaproxySwitch, mergeMemberTraffic, type HaproxySocket } from './haproxy';
import { NginxSwitch } from './nginx';
import { FanoutAlerter, WebhookAlerter } from './webhook';
import { HttpWitness } from './witness';

export interface TrafficConfigInput {
  readonly haproxy?: {
    readonly socket?: string;
    readonly address?: string;
    /** Several front hosts' runtime APIs (host:port each): every change goes to all. */
    readonly addresses?: readonly string[];
    /** Mutual TLS to the runtime APIs (PEM files, relative to the config file). */
    readonly tls?: { readonly caFile: string; readonly certFile: string; readonly keyFile: string; readonly serverName?: string };
    readonly backends: readonly string[];
  };
  readonly nginx?: {
    readonly upstreamFile: string;
    readonly upstream?: string;
    readonly reload: readonly string[];
    readonly test?: readonly string[];
    /** member → host:port. @default - each member's `traffic.server`, which must then be host:port */
    readonly servers?: Readonly<Record<string, string>>;
  };
  readonly dns?: {
    readonly server: string;
    readonly zone: string;
    readonly record: string;
    readonly tsigKeyFile: string;
    readonly ttl?: number;
    /** member → IPv4 addresses. @default - each member's `traffic.server`, which must then be an IPv4 address */
    readonly members?: Readonly<Record<string, readonly string[]>>;
  };
  readonly witness?: { readonly url: string };
}

export interface MemberInput {
  readonly name: string;
  readonly traffic?: { readonly server: string };
}

export interface AlertingConfigInput {
  readonly alertmanager?: { readonly url: string };
  readonly webhooks?: readonly { readonly url: string }[];
}

export type Built<T> = { ok: true; value: T } | { ok: false; errors: string[] };

const HOST_PORT = /^(\[[0-9a-f:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/i;
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/** Applies every change to several switches (e.g. HAProxy and DNS); observe merges them. */
export class MultiSwitch implements TrafficSwitch {
  readonly kind: TrafficSwitch['kind'];
  constructor(readonly switches: readonly TrafficSwitch[]) {
    this.kind = switches[0]?.kind ?? 'none';
  }
  async set(member: string, state: ServingState, weight?: number, signal?: AbortSignal): Promise<void> {
    const errors: string[] = [];
    for (const s of this.switches) {
      try {
        await s.set(member, state, weight, signal);
      } catch (err) {
        errors.push(`${s.kind}: ${(err as Error).message}`);
      }
    }
    if (errors.length > 0) throw new Error(errors.join('; '));
  }
  async observe(signal?: AbortSignal): Promise<Record<string, MemberTraffic>> {
    const all = await Promise.all(this.switches.map((s) => s.observe(signal)));
    const names = new Set(all.flatMap((o) => Object.keys(o)));
    const out: Record<string, MemberTraffic> = {};
    for (const n of names) {
      const merged = mergeMemberTraffic(all.map((o) => o[n]).filter((x): x is MemberTraffic => x !== undefined));
      if (merged) out[n] = merged;
    }
    return out;
  }
}

/** A switch that does nothing (no traffic layer configured). */
export const noTrafficSwitch: TrafficSwitch = {
  kind: 'none',
  set: async () => undefined,
  observe: async () => ({}),
};

export function buildTrafficSwitch(traffic: TrafficConfigInput | undefined, members: readonly MemberInput[], opts: { baseDir?: string } = {}): Built<TrafficSwitch> {
  if (!traffic) return { ok: true, value: noTrafficSwitch };
  const abs = (p: string) => (isAbsolute(p) || !opts.baseDir ? p : resolve(opts.baseDir, p));
  const serverOf = (m: MemberInput) => m.traffic?.server ?? m.name;
  const errors: string[] = [];
  const switches: TrafficSwitch[] = [];

  if (traffic.haproxy) {
    const h = traffic.haproxy;
    const sockets: HaproxySocket[] = [];
    const tls = h.tls ? { caFile: abs(h.tls.caFile), certFile: abs(h.tls.certFile), keyFile: abs(h.tls.keyFile), ...(h.tls.serverName ? { serverName: h.tls.serverName } : {}) } : undefined;
    const given = [h.socket, h.address, h.addresses].filter((x) => x !== undefined).length;
    const tcp = (field: string, a: string) => {
      const m = HOST_PORT.exec(a);
      if (!m) errors.push(`traffic.haproxy.${field}: ${JSON.stringify(a)} is not host:port (e.g. 127.0.0.1:9999)`);
      else sockets.push({ host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]), ...(tls ? { tls } : {}) });
    };
    if (given > 1) errors.push('traffic.haproxy: give one of socket, address or addresses');
    else if (h.socket) sockets.push(abs(h.socket));
    else if (h.address) tcp('address', h.address);
    else if (h.addresses && h.addresses.length > 0) h.addresses.forEach((a, i) => tcp(`addresses[${i}]`, a));
    else errors.push('traffic.haproxy: give socket (unix path), address (host:port) or addresses (the front hosts\' host:port) of the runtime API');
    if (tls && h.socket) errors.push('traffic.haproxy.tls: only for address/addresses (TCP), not a unix socket');
    if (sockets.length > 0 && errors.length === 0) switches.push(new HaproxySwitch({ sockets, backends: h.backends, servers: Object.fromEntries(members.map((m) => [m.name, serverOf(m)])) }));
  }

  if (traffic.nginx) {
    const n = traffic.nginx;
    const servers: Record<string, string> = {};
    for (const m of members) {
      const addr = n.servers?.[m.name] ?? serverOf(m);
      if (!HOST_PORT.test(addr)) errors.push(`traffic.nginx.servers.${m.name}: ${JSON.stringify(addr)} is not host:port; set it (or the member's traffic.server) to the member's upstream address`);
      else servers[m.name] = addr;
    }
    if (Object.keys(servers).length === members.length && members.length > 0) {
      switches.push(new NginxSwitch({ upstreamFile: abs(n.upstreamFile), upstream: n.upstream ?? 'flotilla', servers, reload: n.reload, ...(n.test ? { test: n.test } : {}) }));
    }
  }

  if (traffic.dns) {
    const d = traffic.dns;
    const addrs: Record<string, readonly string[]> = {};
    for (const m of members) {
      const given = d.members?.[m.name];
      if (given) addrs[m.name] = given;
      else if (IPV4.test(serverOf(m))) addrs[m.name] = [serverOf(m)];
      else errors.push(`traffic.dns.members.${m.name}: missing; list the member's IPv4 addresses in the record (its traffic.server ${JSON.stringify(serverOf(m))} is not an address)`);
    }
    const dnsOpts = { server: d.server, zone: d.zone, record: d.record, tsigKeyFile: abs(d.tsigKeyFile), members: addrs, ...(d.ttl !== undefined ? { ttl: d.ttl } : {}) };
    const problems = checkDnsOptions(dnsOpts);
    errors.push(...problems);
    if (problems.length === 0 && Object.keys(addrs).length === members.length) switches.push(new DnsSwitch(dnsOpts));
  }

  if (errors.length > 0) return { ok: false, errors };
  if (switches.length === 0) return { ok: true, value: noTrafficSwitch };
  return { ok: true, value: switches.length === 1 ? switches[0]! : new MultiSwitch(switches) };
}

export function buildWitness(traffic: TrafficConfigInput | undefined): HttpWitness | undefined {
  return traffic?.witness ? new HttpWitness({ url: traffic.witness.url }) : undefined;
}

/** Alertmanager and webhooks fanned out; undefined when nothing is configured. */
export function buildAlerter(alerting: AlertingConfigInput | undefined, opts: { labels?: Record<string, string>; generatorURL?: string } = {}): Alerter | undefined {
  const targets: Alerter[] = [];
  if (alerting?.alertmanager) targets.push(new AlertmanagerAlerter({ url: alerting.alertmanager.url, ...opts }));
  for (const w of alerting?.webhooks ?? []) targets.push(new WebhookAlerter({ url: w.url }));
  if (targets.length === 0) return undefined;
  return targets.length === 1 ? targets[0] : new FanoutAlerter(targets);
}
