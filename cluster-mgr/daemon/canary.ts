// What a FederatedApp's `spec.canary` and `spec.logs` add on a member, next to the stable Deployment
// the apps loop writes (daemon/apps.ts calls syncCanary once per member and pass):
//   - the stable pod template carries its `version` label (canary declared) and the per-pod log
//     folder mount (`logs.files`) — memberTemplate(), used by deploymentFor();
//   - the canary Deployment `<name>-canary` (canary.replicas on every member that runs the app;
//     deleted when the canary is removed);
//   - the DestinationRule (stable/canary subsets) and weighted VirtualService, created once when
//     missing: afterwards the weights belong to `cluster-mgr canary promote|rollback`.
import { createHash } from 'node:crypto';
import { canaryDeployment, canaryName, destinationRule, stableVersionOf, versionedStable, virtualService, type DeploymentLike } from '../../infra/lib/canary';
import { deploymentWithPodLogs } from '../../infra/lib/pod-logs';
import { KubeError, TEMPLATE_HASH } from '../adapters/kube';
import type { App, DeploymentTemplate } from '../config/schema';
import type { ClusterApi, KubeObject } from '../contracts/index';
import { appKey } from '../core/plan';
import type { DaemonContext } from './context';
import { deploymentName } from './context';

/** The app's Deployment template as members get it: `version` label with a canary, the log folder with `logs.files`. */
export function memberTemplate(app: App): DeploymentTemplate {
  if (!app.canary && !app.logs?.files) return app.template;
  let t = structuredClone(app.template);
  if (app.canary) t.spec.template = versionedStable(t.spec.template as DeploymentLike['spec']['template']) as DeploymentTemplate['spec']['template'];
  if (app.logs?.files) t = deploymentWithPodLogs(t as unknown as DeploymentLike, app.logs.mountPath ? { mountPath: app.logs.mountPath } : {}) as unknown as DeploymentTemplate;
  return t;
}

/** The canary Deployment for a member, from the stable one cluster-mgr writes there. */
export function canaryFor(app: App, stable: KubeObject, replicas: number): KubeObject {
  const c = app.canary!;
  let out = canaryDeployment(stable as unknown as DeploymentLike, { version: c.version, ...(c.image ? { image: c.image } : {}), ...(c.container ? { container: c.container } : {}), ...(c.template ? { template: c.template as DeploymentLike['spec']['template'] } : {}) }, replicas);
  if (app.logs?.files) out = deploymentWithPodLogs(out, app.logs.mountPath ? { mountPath: app.logs.mountPath } : {});
  const meta = out.metadata as { annotations: Record<string, string> };
  meta.annotations = { ...meta.annotations, [TEMPLATE_HASH]: createHash('sha256').update(JSON.stringify([out.spec.template, out.spec.selector, app.namespace])).digest('hex').slice(0, 16) };
  return out as unknown as KubeObject;
}

/** Routing objects of a canary app on a member (created when missing; weights then move by CLI). */
export function canaryRouting(app: App): KubeObject[] {
  const name = deploymentName(app);
  const o = { name, namespace: app.namespace, stableVersion: stableVersionOf(app.template.spec.template as DeploymentLike['spec']['template']), canaryVersion: app.canary!.version, canaryWeight: app.canary!.weight, labels: { 'app.kubernetes.io/managed-by': 'cluster-mgr', 'flotilla.dev/federated-app': app.name } };
  return [destinationRule(o), virtualService(o)];
}

/** Removes an app's canary from a member: the routing first (all traffic back to the Service's pods), then the canary pods. */
export async function deleteCanary(api: ClusterApi, app: App, signal: AbortSignal): Promise<void> {
  await api.delete('networking.istio.io/v1', 'VirtualService', app.namespace, deploymentName(app), signal);
  await api.delete('networking.istio.io/v1', 'DestinationRule', app.namespace, deploymentName(app), signal);
  await api.delete('apps/v1', 'Deployment', app.namespace, canaryName(deploymentName(app)), signal);
}

/**
 * Brings the canary of `app` on one member in line with the stable replicas `stable` there: the
 * canary Deployment (or its removal) and, on first creation, the routing objects. Never throws for
 * a member without Istio's CRDs (logged once): the Deployments still run.
 */
export async function syncCanary(c: DaemonContext, app: App, api: ClusterApi, stable: KubeObject, signal: AbortSignal): Promise<void> {
  const name = canaryName(deploymentName(app));
  const observed = api.findOwned(app.namespace, name);
  if (!app.canary) {
    if (observed) {
      await deleteCanary(api, app, signal);
      c.o.log.info({ app: appKey(app), member: api.name, deployment: name }, 'canary removed from the spec: deleted its Deployment, VirtualService and DestinationRule');
    }
    return;
  }
  const want = ((stable.spec as { replicas?: number }).replicas ?? 0) > 0 ? app.canary.replicas : 0;
  const obj = canaryFor(app, stable, want);
  const hash = (obj.metadata as { annotations: Record<string, string> }).annotations[TEMPLATE_HASH];
  if (observed && observed.replicas === want && observed.templateHash === hash) return;
  await api.apply(obj, signal);
  c.o.log.info({ app: appKey(app), member: api.name, replicas: want, was: observed?.replicas ?? null }, 'applied canary deployment');
  if (observed) return;
  for (const r of canaryRouting(app)) {
    try {
      await api.write(r, signal);
    } catch (err) {
      if (!(err instanceof KubeError && err.status === 404)) throw err;
      c.o.log.warn({ app: appKey(app), member: api.name, kind: r.kind }, `no ${String(r.kind)} API on this member (Istio CRDs missing): the canary runs but traffic is not split`);
    }
  }
}
