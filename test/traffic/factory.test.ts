// Building switches/alerters from the Federation's traffic/alerting blocks: kinds, defaults from
// members' traffic.server, and messages naming field, value and fix.
import { describe, expect, it } from 'vitest';
import { AlertmanagerAlerter } from '../../cluster-mgr/adapters/alertmanager';
import { DnsSwitch } from '../../cluster-mgr/adapters/dns';
import { buildAlerter, buildTrafficSwitch, buildWitness, MultiSwitch } from '../../cluster-mgr/adapters/factory';
import { HaproxySwitch } from '../../cluster-mgr/adapters/haproxy';
import { NginxSwitch } from '../../cluster-mgr/adapters/nginx';
import { FanoutAlerter } from '../../cluster-mgr/adapters/webhook';
import type { MemberTraffic, ServingState, TrafficSwitch } from '../../cluster-mgr/contracts/index';

const members = [{ name: 'bj1-a', traffic: { server: 'bj1-a' } }, { name: 'sh1-a' }];

describe('buildTrafficSwitch', () => {
  it('none configured → a no-op switch', () => {
    const r = buildTrafficSwitch(undefined, members);
    expect(r.ok && r.value.kind).toBe('none');
  });
  it('haproxy over a unix socket (relative to the config folder) or TCP', () => {
    const r = buildTrafficSwitch({ haproxy: { socket: 'run/admin.sock', backends: ['web'] } }, members, { baseDir: '/etc/flotilla' });
    expect(r.ok && r.value).toBeInstanceOf(HaproxySwitch);
    expect(buildTrafficSwitch({ haproxy: { address: '127.0.0.1:9999', backends: ['web'] } }, members).ok).toBe(true);
  });
  it.each([
    [{ haproxy: { addresses: ['10.0.0.5:9999', 'x'], backends: ['web'] } }, 'traffic.haproxy.addresses[1]: "x" is not host:port (e.g. 127.0.0.1:9999)'],
    [{ haproxy: { socket: '/run/a.sock', address: '10.0.0.5:9999', backends: ['web'] } }, 'traffic.haproxy: give one of socket, address or addresses'],
    [{ haproxy: { backends: ['web'] } }, "traffic.haproxy: give socket (unix path), address (host:port) or addresses (the front hosts' host:port) of the runtime API"],
    [{ haproxy: { address: 'nope', backends: ['web'] } }, 'traffic.haproxy.address: "nope" is not host:port (e.g. 127.0.0.1:9999)'],
    [{ nginx: { upstreamFile: 'u.conf', reload: ['nginx', '-s', 'reload'] } }, 'traffic.nginx.servers.bj1-a: "bj1-a" is not host:port; set it (or the member\'s traffic.server) to the member\'s upstream address'],
    [
      { dns: { server: '127.0.0.1:53', zone: 'example.test', record: 'shop.example.test', tsigKeyFile: 'k' } },
      'traffic.dns.members.bj1-a: missing; list the member\'s IPv4 addresses in the record (its traffic.server "bj1-a" is not an address)',
    ],
  ])('%j → %s', (cfg, msg) => {
    const r = buildTrafficSwitch(cfg, members);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors).toContain(msg);
  });
  it('nginx and dns with explicit maps; both together become a MultiSwitch', () => {
    const nginx = { upstreamFile: 'u.conf', reload: ['true'], servers: { 'bj1-a': '127.0.0.1:8001', 'sh1-a': '127.0.0.1:8002' } };
    const dns = { server: '127.0.0.1:53', zone: 'example.test', record: 'shop.example.test', tsigKeyFile: 'k', members: { 'bj1-a': ['127.0.1.1'], 'sh1-a': ['127.0.2.1'] } };
    const n = buildTrafficSwitch({ nginx }, members);
    expect(n.ok && n.value).toBeInstanceOf(NginxSwitch);
    const d = buildTrafficSwitch({ dns }, members);
    expect(d.ok && d.value).toBeInstanceOf(DnsSwitch);
    const both = buildTrafficSwitch({ nginx, dns }, members);
    expect(both.ok && both.value).toBeInstanceOf(MultiSwitch);
  });
});

class Mem implements TrafficSwitch {
  readonly kind = 'none' as const;
  readonly s: Record<string, MemberTraffic> = {};
  constructor(private readonly fail = false) {}
  async set(m: string, state: ServingState, weight = 100) {
    if (this.fail) throw new Error('unreachable');
    this.s[m] = { state, weight };
  }
  async observe() {
    return { ...this.s };
  }
}

describe('MultiSwitch', () => {
  it('applies to all, reports every failure, merges observations most-restrictive', async () => {
    const a = new Mem();
    const b = new Mem();
    const multi = new MultiSwitch([a, b]);
    await multi.set('x', 'ready', 50);
    b.s.x = { state: 'drain', weight: 0 };
    expect((await multi.observe()).x).toEqual({ state: 'drain', weight: 0 });
    const broken = new MultiSwitch([a, new Mem(true)]);
    await expect(broken.set('x', 'drain')).rejects.toThrow('none: unreachable');
    expect(a.s.x!.state).toBe('drain');
  });
});

describe('buildAlerter / buildWitness', () => {
  it('alertmanager alone, or fanned out with webhooks; nothing → undefined', () => {
    expect(buildAlerter(undefined)).toBeUndefined();
    expect(buildAlerter({ alertmanager: { url: 'http://127.0.0.1:9093' } })).toBeInstanceOf(AlertmanagerAlerter);
    expect(buildAlerter({ alertmanager: { url: 'http://127.0.0.1:9093' }, webhooks: [{ url: 'http://127.0.0.1:1/h' }] })).toBeInstanceOf(FanoutAlerter);
    expect(buildWitness({ witness: { url: 'http://127.0.0.1:1/{member}' } })).toBeDefined();
    expect(buildWitness({})).toBeUndefined();
  });
});
