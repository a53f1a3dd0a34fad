// Test helpers for the renderers: the bundled examples as validated Site models, and small sites
// built on lab addresses for the real-daemon tests.
import { readdirSync, rmSync } from 'node:fs';
import { formatError, loadSite, parseSite, type Site } from '../../infra/site/index';
import { createLab, type Daemon } from '../lab/index';

export const EXAMPLES = readdirSync('examples')
  .filter((f) => f.endsWith('.yaml'))
  .sort();

export async function loadExample(file: string): Promise<Site> {
  const r = await loadSite(`examples/${file}`);
  if (!r.ok) throw new Error(`examples/${file} does not validate: ${r.errors.map(formatError).join('; ')}`);
  return r.value;
}

/** A minimal valid site; `patch` edits the raw inventory object before validation. */
export function makeSite(patch: (spec: Record<string, unknown>) => void = () => {}): Site {
  const doc = {
    apiVersion: 'flotilla.dev/v1alpha1',
    kind: 'Site',
    metadata: { name: 'lab' },
    spec: {
      domain: 'lab.example.com',
      ssh: { privateKeyFile: './k', knownHostsFile: './kh' },
      network: {
        asNumber: 64512,
        // outside the lab's 10.200–249.x subnets
        podCIDR: '10.128.0.0/14',
        serviceCIDR: '10.96.0.0/12',
        blockSize: 26,
        routers: [],
      },
      registry: { host: 'registry.lab.example.com' },
      storage: { default: 'nfs', nfs: { server: 'nfs.lab.example.com', path: '/export' } },
      certificates: { issuer: 'ca' },
      logging: { elasticsearch: {} },
      clusters: [
        {
          name: 'lab-a',
          kubeconfig: './kc',
          apiVIP: { address: '10.250.0.10/24', interface: 'eth0', virtualRouterId: 10 },
          nodes: [{ name: 'lab-a-m1', address: '10.250.0.11', roles: ['master'] }],
        },
      ],
    } as Record<string, unknown>,
  };
  patch(doc.spec);
  const r = parseSite(JSON.stringify(doc), '<test site>');
  if (!r.ok) throw new Error(`test site does not validate: ${r.errors.map(formatError).join('; ')}`);
  return r.value;
}

/** First three octets of a lab address (`10.X.Y`). */
export function labBase(address: string): string {
  return address.split('.').slice(0, 3).join('.');
}

export interface LabRun {
  readonly lab: Awaited<ReturnType<typeof createLab>>;
  /** Daemons the test starts: stopped after it. */
  readonly daemons: Daemon[];
  /** Folders the test makes: removed after it. */
  readonly dirs: string[];
}

/** A netns lab for one test; afterwards its daemons are stopped, the lab destroyed and its folders removed. */
export async function withLab<T>(body: (run: LabRun) => Promise<T>): Promise<T> {
  const lab = await createLab();
  const daemons: Daemon[] = [];
  const dirs: string[] = [];
  try {
    return await body({ lab, daemons, dirs });
  } finally {
    await Promise.all(daemons.map((d) => d.stop()));
    await lab.destroy();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

/**
 * A lab cluster's inventory entry on `base` (`10.X.Y`): API VIP `.10 + 10·i`, a master `.11 + 10·i`
 * (also edge when `edgeNodes` is empty), the given edge nodes and edge VIPs.
 */
export function labCluster(
  name: string,
  base: string,
  i: number,
  o: { edgeNodes?: readonly { name: string; address: string }[]; vips: readonly Record<string, unknown>[]; network?: Record<string, string> },
): Record<string, unknown> {
  const edges = o.edgeNodes ?? [];
  return {
    name,
    kubeconfig: './kc',
    ...(o.network ? { network: o.network } : {}),
    apiVIP: { address: `${base}.${10 + 10 * i}/24`, interface: 'eth0', virtualRouterId: 10 + 10 * i },
    nodes: [{ name: `${name}-m1`, address: `${base}.${11 + 10 * i}`, roles: edges.length > 0 ? ['master'] : ['master', 'edge'] }, ...edges.map((e) => ({ ...e, roles: ['edge'] }))],
    edge: { vips: o.vips },
  };
}
