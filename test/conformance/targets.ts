// The two targets of the conformance suite: the simulator (cluster-mgr/sim) and a real control plane
// (test/lab/controlplane: etcd + kube-apiserver, optionally controller-manager, scheduler and kwok).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startSim, type Sim } from '../../cluster-mgr/sim';
import { REPO_ROOT, startControlPlane, type ControlPlane, type ControlPlaneOptions } from '../lab';
import { ApiClient } from './client';

export const CRD_FILE = join(REPO_ROOT, 'constructs', 'crds', 'flotilla.dev_federatedapps.yaml');

export interface Target {
  readonly kind: 'sim' | 'real';
  /** https://127.0.0.1:PORT, https://[::1]:PORT or http://127.0.0.1:PORT (sim). */
  readonly server: string;
  /** Admin access (client certificate on a real server). */
  readonly admin: ApiClient;
  /** A kubeconfig with admin access, as cluster-mgr reads it. */
  readonly kubeconfigPath: string;
  /** The real control plane (real targets only). */
  readonly cp?: ControlPlane;
  /** The simulator (sim targets only). */
  readonly sim?: Sim;
  /** A scratch folder removed on stop. */
  readonly dir: string;
  /** The real server sends watch bookmarks about every minute; the sim as configured. */
  readonly bookmarkIntervalMs: number;
  stop(): Promise<void>;
}

/** The simulator's bookmark period in the conformance run (the real server's is ~60 s). */
export const SIM_BOOKMARK_MS = 400;

export async function simTarget(): Promise<Target> {
  const sim = await startSim({ count: 1, nodesPerMember: 1, seedExample: false, bookmarkIntervalMs: SIM_BOOKMARK_MS, watchWindow: 50 });
  const m = sim.members[0]!;
  const dir = mkdtempSync(join(tmpdir(), 'conf-sim-'));
  return {
    kind: 'sim',
    server: m.api,
    admin: new ApiClient(m.api, { token: 'conformance' }),
    kubeconfigPath: m.kubeconfig,
    sim,
    dir,
    bookmarkIntervalMs: SIM_BOOKMARK_MS,
    stop: async () => {
      await sim.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts a real control plane and installs the FederatedApp CRD (waits until it is served). */
export async function realTarget(opts: Partial<ControlPlaneOptions> & { name: string }): Promise<Target> {
  const cp = await startControlPlane({ apiOnly: true, ...opts });
  try {
    const admin = new ApiClient(cp.server, {
      ca: cp.caPem,
      cert: readFileSync(cp.adminCertPath, 'utf8'),
      key: readFileSync(cp.adminKeyPath, 'utf8'),
    });
    const crd = parse(readFileSync(CRD_FILE, 'utf8')) as { metadata: { name: string } };
    const r = await admin.call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { body: crd });
    if (r.status !== 201) throw new Error(`installing the FederatedApp CRD: HTTP ${r.status}: ${r.text.slice(0, 500)}`);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const got = await admin.call('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`);
      const est = (got.body?.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Established' && c.status === 'True');
      const served = est && (await admin.call('GET', '/apis/flotilla.dev/v1alpha1/federatedapps')).status === 200;
      if (served) break;
      if (Date.now() > deadline) throw new Error(`FederatedApp CRD not Established/served within 30 s: ${got.text.slice(0, 500)}`);
      await new Promise((res) => setTimeout(res, 100));
    }
    const dir = mkdtempSync(join(tmpdir(), 'conf-real-'));
    return {
      kind: 'real',
      server: cp.server,
      admin,
      kubeconfigPath: cp.kubeconfigPath,
      cp,
      dir,
      bookmarkIntervalMs: 60_000,
      stop: async () => {
        await cp.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await cp.stop();
    throw err;
  }
}
