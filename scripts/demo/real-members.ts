// `flotilla demo --members real`: the same federation demo on REAL control planes (etcd,
// kube-apiserver, controller-manager, scheduler and kwok nodes, from the binaries scripts/setup
// builds) instead of the simulator. One control plane per cluster of the example site; its kwok
// nodes mirror the inventory's nodes (masters and edge nodes tainted like the synthesized site).
// There is no ingress on kwok nodes, so no front HAProxy: faults are signals to a member's
// kube-apiserver (SIGSTOP/SIGCONT), printed with their PIDs.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { stringify } from 'yaml';
import { loadFederation } from '../../cluster-mgr/config/index';
import { runDaemon, type Running } from '../../cluster-mgr/daemon/main';
import { EXAMPLE_APP } from '../../cluster-mgr/sim/index';
import type { Site } from '../../infra/site/index';
import { startControlPlanes, type ControlPlane, type LabNodeSpec } from '../lab/controlplane';
import { k8sAssets } from '../lab/k8s-assets';
import { firstFreePort } from './federation';

export interface RealDemoRunning {
  readonly members: readonly ControlPlane[];
  readonly dashboardUrl: string;
  readonly logFile: string;
  stop(): Promise<void>;
}

/** Why real members cannot start here (and how to fix it), or undefined when they can. */
export function realMembersUnavailable(): string | undefined {
  const a = k8sAssets();
  return a.ok ? undefined : `${a.message}\nReal members need the lab's Kubernetes binaries: run scripts/setup (builds them once, about 25-40 min on 2 cores), or set KUBEBUILDER_ASSETS to a folder holding kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, etcd and kwok.`;
}

/** kwok nodes for one cluster of the inventory: masters and edge nodes carry the synthesized taints. */
export function labNodesFor(site: Site, clusterName: string): LabNodeSpec[] {
  const cluster = site.spec.clusters.find((c) => c.name === clusterName)!;
  return cluster.nodes.map((n) => {
    const roles = n.roles as readonly string[];
    const taints: LabNodeSpec['taints'] = roles.includes('master')
      ? [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }]
      : roles.includes('edge')
        ? [{ key: 'node-role.kubernetes.io/edge', effect: 'NoSchedule' }]
        : [];
    const labels: Record<string, string> = { ...n.labels };
    for (const r of roles) labels[r === 'master' ? 'node-role.kubernetes.io/control-plane' : `node-role.kubernetes.io/${r}`] = '';
    return { name: n.name, cpu: '8', memory: '16Gi', labels, taints };
  });
}

export async function startRealDemo(o: { site: Site; dir: string; port?: number }): Promise<RealDemoRunning> {
  const dir = resolve(o.dir);
  mkdirSync(join(dir, 'kubeconfigs'), { recursive: true });
  const names = o.site.spec.clusters.map((c) => c.name);
  const members = await startControlPlanes(names.map((name) => ({ name, nodes: labNodesFor(o.site, name) })));
  const stops: (() => Promise<void>)[] = members.map((m) => () => m.stop());
  const stopAll = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    for (const m of members) writeFileSync(join(dir, 'kubeconfigs', `${m.name}.yaml`), m.kubeconfig, { mode: 0o600 });
    const doc = {
      apiVersion: 'flotilla.dev/v1alpha1',
      kind: 'Federation',
      metadata: { name: o.site.metadata.name },
      spec: {
        members: names.map((n) => ({ name: n, kubeconfig: `./kubeconfigs/${n}.yaml`, labels: { site: n, env: 'lab' } })),
        health: { interval: '1s', timeout: '800ms', failureThreshold: 3, successThreshold: 3, failbackAfter: '10s' },
        apps: [EXAMPLE_APP],
      },
    };
    const configFile = join(dir, 'federation.yaml');
    writeFileSync(configFile, `# Written by \`flotilla demo --members real\`: members ${names.join(', ')} are real control planes with kwok nodes.\n${stringify(doc)}`);
    const fed = await loadFederation(configFile);
    if (!fed.ok) throw new Error(`demo federation invalid: ${fed.errors.map((e) => e.message).join('; ')}`);
    const logFile = join(dir, 'cluster-mgr.log');
    const log = pino({ base: { svc: 'cluster-mgr' }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: logFile, sync: true, append: false }));
    const port = await firstFreePort(o.port ?? 9464);
    const running: Running = await runDaemon({ federation: fed.value, configFile, apps: fed.value.spec.apps, listen: { host: '127.0.0.1', port }, log });
    stops.push(() => running.stop());
    return { members, dashboardUrl: `${running.url}/`, logFile, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
