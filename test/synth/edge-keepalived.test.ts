// The keepalived configs the EdgeGateway DaemonSet actually runs (its ConfigMap, one key per edge
// node, with the node-local track URL) pass `keepalived -t`, inside a lab netns that has the
// configured interfaces.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSite } from '../../infra/site/index';
import { EDGE_TRACK_URL, synthesizeSite } from '../../infra/synth/index';
import { createLab, makeDir, requireTools, type Lab } from '../lab/index';

describe('EdgeGateway ConfigMap', () => {
  it.for(['bj1', 'sh1', 'customer-airgap'])('examples/%s.yaml: keepalived -t accepts every node config', async (name, ctx) => {
    requireTools(ctx, ['ip', 'keepalived'], { root: true });
    const r = await loadSite(`examples/${name}.yaml`);
    if (!r.ok) throw new Error('example invalid');
    const site = r.value;
    const configMaps = synthesizeSite(site)
      .clusters.flatMap((c) => c.components.filter((m) => m.component === 'edge-gateway').flatMap((m) => m.objects))
      .filter((o) => o.kind === 'ConfigMap' && o.metadata.name === 'edge-keepalived') as unknown as Array<{ data: Record<string, string> }>;
    const confs = configMaps.flatMap((cm) => Object.entries(cm.data));
    const edgeNodes = site.spec.clusters.flatMap((c) => c.nodes.filter((n) => n.roles.includes('edge') && c.edge.vips.length > 0));
    expect(confs.map(([k]) => k).sort()).toEqual(edgeNodes.map((n) => `${n.name}.conf`).sort());
    const dir = makeDir(`edge-cm-${name}`);
    const lab: Lab = await createLab();
    try {
      const host = await lab.addHost('edge', 1);
      const ifaces = new Set(site.spec.clusters.flatMap((c) => c.edge.vips.map((v) => v.interface)));
      ifaces.delete('eth0');
      let i = 0;
      for (const iface of [...ifaces].sort()) await host.execOk('ip', ['link', 'add', iface, 'type', 'veth', 'peer', 'name', `ky${i++}`]);
      mkdirSync(dir, { recursive: true });
      for (const [key, content] of confs) {
        expect(content).toContain(EDGE_TRACK_URL);
        expect(content).toMatch(/^\s*version 3$/m);
        const file = join(dir, key);
        writeFileSync(file, content);
        const res = await host.exec('keepalived', ['-t', '-f', file]);
        expect(res.code, `${key}: ${res.stdout}${res.stderr}`).toBe(0);
        expect(res.stderr, key).not.toMatch(/Disabling|WARNING|Unknown keyword/i);
      }
    } finally {
      await lab.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
