// Bench: synthesize a generated 3-cluster, 200-node site in memory and write its tree.
// Target ≤ 2000 ms wall (synthesizeSite + writeSiteTree). Run: npm run bench -- synth
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseSite, type SiteInput } from '../../infra/site/index';
import { synthesizeSite, writeSiteTree } from '../../infra/synth/index';
import type { BenchResult } from './run';

/** A valid Site with `clusters` clusters and `nodes` nodes in total (3 masters, 2 edges each). */
export function generatedSite(clusters = 3, nodes = 200): SiteInput {
  const per = (i: number) => Math.floor(nodes / clusters) + (i < nodes % clusters ? 1 : 0);
  const base = readExampleBase();
  return {
    ...base,
    metadata: { name: 'bench' },
    spec: {
      ...base.spec,
      network: { ...base.spec.network, routeReflectors: Array.from({ length: clusters }, (_, c) => [`c${c}-n0`, `c${c}-n1`]).flat() },
      clusters: Array.from({ length: clusters }, (_, c) => ({
        name: `c${c}`,
        kubeconfig: `./kubeconfigs/c${c}.yaml`,
        apiVIP: { address: `10.30.${c}.250/16`, interface: 'eth0', virtualRouterId: 10 },
        nodes: Array.from({ length: per(c) }, (_, n) => ({
          name: `c${c}-n${n}`,
          address: `10.30.${c}.${n + 1}`,
          roles: n < 3 ? ['master' as const] : n < 5 ? ['edge' as const] : ['worker' as const],
        })),
        edge: { vips: [{ name: 'ingress', address: `10.30.${c}.251/16`, interface: 'eth0', virtualRouterId: 51, ports: [80, 443] }] },
      })),
    },
  };
}

function readExampleBase(): SiteInput {
  return {
    apiVersion: 'flotilla.dev/v1alpha1',
    kind: 'Site',
    metadata: { name: 'bench' },
    spec: {
      environment: 'test',
      domain: 'bench.example.com',
      ssh: { privateKeyFile: './key', knownHostsFile: './known_hosts' },
      network: {
        asNumber: 64512,
        podCIDR: '10.244.0.0/16',
        serviceCIDR: '10.96.0.0/12',
        routers: [
          { name: 'tor-a', address: '10.30.255.1', asNumber: 65001 },
          { name: 'tor-b', address: '10.30.255.2', asNumber: 65001 },
        ],
      },
      registry: { host: 'registry.bench.example.com', mirrors: [{ host: 'registry.other.example.com', repositories: ['platform/*'] }] },
      storage: { default: 'ceph', nfs: { server: '10.30.255.50', path: '/export' }, ceph: { monitors: ['10.30.255.61:6789'], pool: 'rbd', fsName: 'fs' } },
      certificates: { issuer: 'acme', acmeEmail: 'ops@example.com', dns01: { rfc2136: { nameserver: '10.0.0.53:53', tsigKeyName: 'acme' } } },
      logging: { elasticsearch: { nodes: 3 } },
      monitoring: {
        receivers: [{ name: 'ops', webhook: { url: 'http://relay.example.com/hook' } }],
        probes: [{ name: 'home', url: 'https://shop.bench.example.com/', bodyMustNotContain: 'ERROR' }],
      },
      clusters: [],
    },
  } as unknown as SiteInput;
}

export default async function bench(): Promise<BenchResult[]> {
  const parsed = parseSite(stringify(generatedSite(3, 200)), '<generated>');
  if (!parsed.ok) throw new Error(`generated site invalid: ${parsed.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  const site = parsed.value;
  const out = await mkdtemp(join(tmpdir(), 'flotilla-bench-synth-'));
  try {
    // warm-up (module init, CRD bindings) is excluded from the figures; best of 3 runs each
    synthesizeSite(site);
    const mem: number[] = [];
    const total: number[] = [];
    let files = 0;
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      const synth = synthesizeSite(site);
      const t1 = performance.now();
      files = (await writeSiteTree(synth, out)).length;
      mem.push(t1 - t0);
      total.push(performance.now() - t0);
    }
    const best = Math.min(...total);
    return [
      {
        name: 'synth: 3 clusters, 200 nodes (synthesizeSite + writeSiteTree)',
        value: best,
        unit: 'ms',
        target: '≤ 2000 ms',
        ok: best <= 2000,
        detail: `${files} files; runs ${total.map((t) => Math.round(t)).join('/')} ms; load ${loadavg()[0]!.toFixed(1)}`,
      },
      {
        name: 'synth: 3 clusters, 200 nodes (synthesizeSite only, in memory)',
        value: Math.min(...mem),
        unit: 'ms',
        detail: `runs ${mem.map((t) => Math.round(t)).join('/')} ms`,
      },
    ];
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}
