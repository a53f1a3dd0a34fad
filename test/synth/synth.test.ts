// synthesizeSite/synthesizeCluster over the bundled examples: site-level invariants.
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { chartsFor } from '../../infra/catalog/charts';
import type { Site } from '../../infra/site/index';
import { imagesOf, siteTreeFiles, synthesizeCluster, synthesizeSite } from '../../infra/synth/index';
import { COMPONENTS } from '../../infra/synth/types';
import { exampleFiles, loadExamples, podSpecs } from './helpers';

const examples = exampleFiles();
const sites = new Map<string, Site>();
beforeAll(() => loadExamples(sites));

describe.each(examples)('examples/%s', (file) => {
  it('deterministic and does not mutate the model', () => {
    const site = sites.get(file)!;
    const before = JSON.stringify(site);
    const a = siteTreeFiles(synthesizeSite(site));
    const b = siteTreeFiles(synthesizeSite(site));
    expect(a).toEqual(b);
    expect(JSON.stringify(site)).toBe(before);
  });

  it('images: sorted, unique, covering every object and chart', () => {
    const synth = synthesizeSite(sites.get(file)!);
    expect(synth.images).toEqual([...new Set(synth.images)].sort());
    for (const c of synth.clusters) {
      for (const m of c.components) for (const i of imagesOf(m.objects)) expect(synth.images).toContain(i);
      for (const ch of c.charts) for (const i of ch.images) expect(synth.images).toContain(i);
    }
    // the API-VIP static pods on the masters
    for (const f of synth.hostFiles.filter((h) => h.path.endsWith('.yaml') && h.path.includes('/manifests/'))) {
      for (const m of f.content.matchAll(/^\s*image: "?([^"\s]+)"?$/gm)) expect(synth.images).toContain(m[1]);
    }
    expect(synth.hostFiles.some((h) => h.path.includes('/manifests/'))).toBe(true);
  });

  it('airGapped: every image (objects, chart images, chart values) comes from the site registry', () => {
    const site = sites.get(file)!;
    const host = site.spec.registry.host;
    const synth = synthesizeSite(site, { airGapped: true });
    for (const i of synth.images) expect(i.startsWith(`${host}/`), i).toBe(true);
    for (const f of synth.hostFiles) for (const m of f.content.matchAll(/^\s*image: "?([^"\s]+)"?$/gm)) expect(m[1]!.startsWith(`${host}/`), f.path).toBe(true);
    for (const c of synth.clusters) {
      for (const ch of c.charts) {
        const values = JSON.stringify(ch.values);
        for (const upstream of ['quay.io', 'docker.io', 'registry.k8s.io', 'docker.elastic.co', 'ghcr.io']) expect(values, `${ch.id} values`).not.toContain(upstream);
      }
    }
  });

  it('per cluster: exactly one default StorageClass, one BGPPeer per router, mesh off iff reflectors, one Probe per probe', () => {
    const site = sites.get(file)!;
    for (const cluster of site.spec.clusters) {
      const cs = synthesizeCluster(site, cluster);
      const objs = cs.components.flatMap((m) => m.objects);
      const defaults = objs.filter((o) => o.kind === 'StorageClass' && (o.metadata.annotations as Record<string, string>)['storageclass.kubernetes.io/is-default-class'] === 'true');
      expect(defaults).toHaveLength(1);
      const torPeers = objs.filter((o) => o.kind === 'BGPPeer' && o.metadata.name.startsWith('tor-'));
      expect(torPeers.map((p) => (p as unknown as { spec: { peerIP: string } }).spec.peerIP).sort()).toEqual(site.spec.network.routers.map((r) => r.address).sort());
      const reflectors = site.spec.network.routeReflectors.filter((r) => cluster.nodes.some((n) => n.name === r));
      const bgp = objs.find((o) => o.kind === 'BGPConfiguration') as { spec: { nodeToNodeMeshEnabled: boolean } } | undefined;
      expect(bgp?.spec.nodeToNodeMeshEnabled).toBe(reflectors.length === 0);
      expect(objs.filter((o) => o.kind === 'Probe')).toHaveLength(site.spec.monitoring.probes.length);
      expect(cs.components.map((m) => m.component).every((c) => COMPONENTS.includes(c))).toBe(true);
    }
  });

  it('no container without requests and limits; non-root pods except the documented host-level ones', () => {
    const synth = synthesizeSite(sites.get(file)!);
    const objs = synth.clusters.flatMap((c) => c.components.flatMap((m) => m.objects));
    const pods = podSpecs(objs);
    expect(pods.length).toBeGreaterThan(0);
    for (const p of pods) {
      for (const c of p.podSpec.containers as Array<{ name: string; resources?: { requests?: object; limits?: object } }>) {
        expect(c.resources?.requests, `${p.where} ${c.name}`).toBeDefined();
        expect(c.resources?.limits, `${p.where} ${c.name}`).toBeDefined();
      }
      if (!p.where.startsWith('DaemonSet/istio-ingress/edge-keepalived')) {
        expect((p.podSpec.securityContext as { runAsNonRoot?: boolean } | undefined)?.runAsNonRoot, p.where).toBe(true);
      }
    }
    // ECK podTemplates carry requests and limits too
    for (const o of objs.filter((x) => ['Elasticsearch', 'Kibana', 'Beat'].includes(x.kind))) {
      expect(JSON.stringify(o)).toMatch(/"limits":\{"cpu"/);
    }
  });

  it('the federation config: one member per cluster (server = cluster name), every front backend, in the first cluster only', () => {
    const site = sites.get(file)!;
    const synth = synthesizeSite(site);
    const fed = synth.clusters.flatMap((c) => c.components.filter((m) => m.component === 'federation').map((m) => ({ cluster: c.cluster, m })));
    expect(fed.map((f) => f.cluster)).toEqual([site.spec.clusters[0]!.name]);
    const cm = fed[0]!.m.objects.find((o) => o.kind === 'ConfigMap') as unknown as { data: Record<string, string> };
    const doc = parse(cm.data['federation.yaml']!) as { spec: { members: Array<{ name: string; traffic: { server: string } }>; traffic: { haproxy: { backends: string[] } } } };
    expect(doc.spec.members.map((m) => [m.name, m.traffic.server])).toEqual(site.spec.clusters.map((c) => [c.name, c.name]));
    const front = synth.hostFiles.find((f) => f.path === 'front/haproxy.cfg')!.content;
    const backends = [...front.matchAll(/^backend (\S+)/gm)].map((m) => m[1]).sort();
    expect([...doc.spec.traffic.haproxy.backends].sort()).toEqual(backends);
    expect(backends.length).toBeGreaterThan(0);
  });

  it('chartsFor: unique ids, exact versions, images listed', () => {
    const site = sites.get(file)!;
    for (const cluster of site.spec.clusters) {
      const charts = chartsFor(site, cluster);
      expect(new Set(charts.map((c) => c.id)).size).toBe(charts.length);
      for (const c of charts) {
        expect(c.version).toMatch(/^v?\d+\.\d+\.\d+$/);
        expect(c.repository).toMatch(/^https:\/\//);
        if (c.id !== 'istio-base') expect(c.images.length).toBeGreaterThan(0);
      }
      expect(charts.some((c) => c.id === 'ceph-csi-rbd')).toBe(!!site.spec.storage.ceph);
      expect(charts.some((c) => c.id === 'csi-driver-nfs')).toBe(!!site.spec.storage.nfs);
    }
  });
});
