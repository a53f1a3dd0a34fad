// cluster-mgr's systemd unit for the ops host: checked by systemd's own verifier (no warning at all),
// same config bytes as the Deployment's ConfigMap, and planned for the host layer with its restart.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { planHosts, unknownHosts } from '../../infra/pulumi/hosts';
import { renderClusterMgrUnit } from '../../infra/render/index';
import { loadSite } from '../../infra/site/index';
import { synthesizeSite } from '../../infra/synth/index';
import { requireTools, run } from '../lab';

const dir = mkdtempSync(join(tmpdir(), 'flt-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `systemd-analyze verify` output for a unit text (empty: no error, no warning). */
async function verify(text: string): Promise<string> {
  const f = join(dir, 'cluster-mgr.service');
  writeFileSync(f, text);
  const r = await run('systemd-analyze', ['verify', f], { timeoutMs: 30_000 });
  return `${r.code === 0 ? '' : `exit ${r.code}\n`}${r.stdout}${r.stderr}`.trim();
}

describe('cluster-mgr systemd unit', () => {
  // the verifier checks that ExecStart exists: point it at this checkout's entry
  const unit = renderClusterMgrUnit({ exec: [process.execPath, join(process.cwd(), 'bin/cluster-mgr.mjs')] });

  it('passes systemd-analyze verify without a warning; a broken unit does not', async (ctx) => {
    requireTools(ctx, ['systemd-analyze']);
    expect(await verify(unit)).toBe('');
    expect(await verify(unit.replace('Type=exec', 'Type=exe'))).toMatch(/Failed to parse service type/);
    expect(unit).toMatch(/^User=cluster-mgr$/m);
    expect(unit).toMatch(/^ExecStart=.* run --config \/etc\/cluster-mgr\/federation\.yaml --listen 0\.0\.0\.0:9464$/m);
  });

  it('examples/sh1.yaml: the ops host gets the unit and the very config of the Deployment, installed and restarted by the host layer', async () => {
    const loaded = await loadSite('examples/sh1.yaml');
    if (!loaded.ok) throw new Error('examples/sh1.yaml must validate');
    const site = loaded.value;
    const synth = synthesizeSite(site);
    const files = synth.hostFiles.filter((f) => f.path.startsWith('hosts/sh1-ops1/'));
    expect(files.map((f) => [f.path, f.hostPath])).toEqual([
      ['hosts/sh1-ops1/cluster-mgr.service', '/etc/systemd/system/cluster-mgr.service'],
      ['hosts/sh1-ops1/cluster-mgr/federation.yaml', '/etc/cluster-mgr/federation.yaml'],
    ]);
    const fed = synth.clusters[0]!.components.find((c) => c.component === 'federation')!.objects.find((o) => o.kind === 'ConfigMap') as unknown as { data: Record<string, string> };
    expect(files[1]!.content).toBe(fed.data['federation.yaml']);
    const cfg = parseAllDocuments(files[1]!.content)[0]!.toJS() as { spec: { leaderElection: Record<string, unknown>; appSources: unknown; health: Record<string, unknown> } };
    expect(cfg.spec.leaderElection).toMatchObject({ namespace: 'flotilla-system', leaseName: 'cluster-mgr', inCluster: true, member: 'sh1-a', leaseDuration: '4s' });
    expect(cfg.spec.appSources).toEqual({ crs: {} });
    expect(cfg.spec.health).toEqual({ interval: '1s', timeout: '800ms', failureThreshold: 3, successThreshold: 3, failbackAfter: '60s', failbackSteps: 4 });
    expect(unknownHosts(site, synth.hostFiles)).toEqual([]);
    const plan = planHosts(site, synth.hostFiles).find((p) => p.host === 'sh1-ops1');
    expect(plan).toMatchObject({ address: '10.20.0.40', roles: ['ops'] });
    expect(plan!.script).toMatch(/systemctl daemon-reload\nsystemctl enable cluster-mgr\.service\nsystemctl restart cluster-mgr\.service\n$/);
  });
});
