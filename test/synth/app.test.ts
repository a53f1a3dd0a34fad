// Site apps and app file logs: SiteApp's objects (stable + canary Deployments, Service, DestinationRule
// subsets, weighted VirtualService, consistent hash, local-rate-limit EnvoyFilter) and mountPodLogs on a
// cdk8s-plus Deployment pass their official schemas; the mounted folder is the one the file-log
// collector reads; the cluster-mgr FederatedApp path (infra/lib) produces the same mount.
import * as kplus from 'cdk8s-plus-27';
import { beforeAll, describe, expect, it } from 'vitest';
import { filebeatConfig, mountPodLogs, SiteApp, type SiteAppProps } from '../../constructs/index';
import { canaryDeployment, deploymentWithPodLogs, POD_LOGS_HOST_PATH, type DeploymentLike } from '../../infra/lib/index';
import { loadSite } from '../../infra/site/index';
import { synthesizeSite } from '../../infra/synth/index';
import { ManifestValidator } from '../schema/validator';
import { objectsOf, ofKind, spec } from './helpers';

let validator: ManifestValidator;
beforeAll(() => {
  validator = new ManifestValidator();
});
const expectValid = (objects: readonly unknown[]) => {
  const bad = objects.map((o) => [o, validator.validate(o)] as const).filter(([, r]) => !r.ok);
  expect(bad.map(([o, r]) => `${(o as { kind: string }).kind}: ${r.errors.join('; ')}`)).toEqual([]);
};

const full: SiteAppProps = {
  name: 'web',
  namespace: 'shop',
  image: 'registry.example.com/shop/web:1.0',
  port: 8080,
  host: 'shop.bj1.example.com',
  canary: { version: 'v2', image: 'registry.example.com/shop/web:2.0', weight: 20 },
  consistentHash: { httpCookie: { name: 'session', ttl: '1h' } },
  rateLimit: { requestsPerSecond: 100, burst: 200 },
  fileLogs: true,
};

describe('SiteApp', () => {
  it('emits schema-valid stable and canary Deployments, subsets, weighted routes, consistent hash and local rate limit', () => {
    const objs = objectsOf((s) => new SiteApp(s, 'web', full));
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(['Deployment/web', 'Deployment/web-canary', 'DestinationRule/web', 'EnvoyFilter/web-local-ratelimit', 'Service/web', 'VirtualService/web']);
    expectValid(objs);
    const [stable, canary] = ['web', 'web-canary'].map((n) => ofKind(objs, 'Deployment').find((d) => d.metadata.name === n)!);
    expect(spec(stable).template.metadata.labels).toEqual({ app: 'web', version: 'stable' });
    expect(spec(canary).selector.matchLabels).toEqual({ app: 'web', version: 'v2' });
    expect(spec(canary).template.spec.containers[0].image).toBe('registry.example.com/shop/web:2.0');
    expect(spec(canary).replicas).toBe(1);
    const dr = spec(ofKind(objs, 'DestinationRule')[0]);
    expect(dr.subsets).toEqual([
      { name: 'stable', labels: { version: 'stable' } },
      { name: 'canary', labels: { version: 'v2' } },
    ]);
    expect(dr.trafficPolicy.loadBalancer.consistentHash).toEqual({ httpCookie: { name: 'session', ttl: '1h' } });
    const vs = spec(ofKind(objs, 'VirtualService')[0]);
    expect(vs.hosts).toEqual(['web.shop.svc.cluster.local', 'shop.bj1.example.com']);
    expect(vs.gateways).toEqual(['mesh', 'istio-ingress/site-gateway']);
    expect(vs.http[0].route.map((r: { destination: { subset: string }; weight: number }) => [r.destination.subset, r.weight])).toEqual([
      ['stable', 80],
      ['canary', 20],
    ]);
    const ef = spec(ofKind(objs, 'EnvoyFilter')[0]);
    expect(ef.workloadSelector.labels).toEqual({ app: 'web' });
    expect(ef.configPatches[0].patch.value.typed_config.value.token_bucket).toEqual({ max_tokens: 200, tokens_per_fill: 100, fill_interval: '1s' });
  });

  it('without a canary or traffic options: Deployment and Service only', () => {
    const objs = objectsOf((s) => new SiteApp(s, 'web', { name: 'web', image: 'x:1', port: 80 }));
    expect(objs.map((o) => o.kind).sort()).toEqual(['Deployment', 'Service']);
    expectValid(objs);
  });

  it.each([
    [{ port: 0 }, /SiteApp\.port: got 0, expected a port 1–65535/],
    [{ canary: { version: 'stable', image: 'x:2' } }, /SiteApp\.canary\.version: got "stable"/],
    [{ canary: { version: 'v2', image: 'x:2', weight: 101 } }, /SiteApp\.canary\.weight: got 101, expected a whole percentage 0–100/],
    [{ name: 'Web' }, /SiteApp\.name: got "Web"/],
  ])('rejects %j', (bad, msg) => {
    expect(() => objectsOf((s) => new SiteApp(s, 'web', { ...full, ...bad } as SiteAppProps))).toThrow(msg);
  });

  it('the bundled example synthesizes its app in the `apps` component, schema-valid', async () => {
    const r = await loadSite('examples/bj1.yaml');
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const apps = synthesizeSite(r.value).clusters[0]!.components.find((c) => c.component === 'apps');
    expect(apps?.objects.map((o) => o.kind).sort()).toEqual(['Deployment', 'Deployment', 'DestinationRule', 'EnvoyFilter', 'Namespace', 'Service', 'VirtualService']);
    expectValid(apps!.objects);
  });
});

describe('app file logs', () => {
  const mountOf = (podSpec: { containers: { volumeMounts?: unknown[]; env?: unknown[] }[]; volumes?: unknown[] }) => ({ volumes: podSpec.volumes, mounts: podSpec.containers.map((c) => c.volumeMounts), env: podSpec.containers.map((c) => c.env) });

  it('mountPodLogs on a cdk8s-plus Deployment: schema-valid hostPath + subPathExpr over the downward API', () => {
    const objs = objectsOf((s) => {
      const d = new kplus.Deployment(s, 'app', { containers: [{ name: 'app', image: 'x:1', portNumber: 8080 }, { name: 'side', image: 'y:1' }] });
      mountPodLogs(d);
    });
    expectValid(objs);
    const podSpec = spec(ofKind(objs, 'Deployment')[0]).template.spec;
    expect(podSpec.volumes).toContainEqual({ name: 'pod-logs', hostPath: { path: '/var/log/k8s', type: 'DirectoryOrCreate' } });
    for (const c of podSpec.containers) {
      expect(c.volumeMounts).toContainEqual({ name: 'pod-logs', mountPath: '/var/log/app', subPathExpr: '$(POD_NAMESPACE)_$(POD_NAME)' });
      expect(c.env).toEqual(
        expect.arrayContaining([
          { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
          { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        ]),
      );
    }
  });

  it('the plain-object helper (cluster-mgr FederatedApps) gives the same mount, is idempotent and does not change its input', () => {
    const d: DeploymentLike = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'a' }, spec: { selector: { matchLabels: { app: 'a' } }, template: { metadata: { labels: { app: 'a' } }, spec: { containers: [{ name: 'c', image: 'x:1' }] } } } };
    const copy = structuredClone(d);
    const once = deploymentWithPodLogs(d);
    expect(d).toEqual(copy);
    expect(deploymentWithPodLogs(once)).toEqual(once);
    expectValid([once, canaryDeployment(once, { version: 'v2', image: 'x:2' }, 1)]);
    const viaConstruct = objectsOf((s) => new SiteApp(s, 'a', { name: 'a', image: 'x:1', port: 80, fileLogs: true }));
    const constructPod = spec(ofKind(viaConstruct, 'Deployment')[0]).template.spec;
    expect(mountOf(once.spec.template.spec as never).volumes).toEqual(constructPod.volumes);
    expect(mountOf(once.spec.template.spec as never).mounts).toEqual(constructPod.containers.map((c: { volumeMounts: unknown }) => c.volumeMounts));
  });

  it('the file-log collector reads exactly the folders the mount writes to', () => {
    const input = (filebeatConfig(POD_LOGS_HOST_PATH)['filebeat.inputs'] as { id: string; paths: string[] }[]).find((i) => i.id === 'pod-file-logs')!;
    // a pod shop/web-7d9f writing /var/log/app/app.log lands in <hostPath>/shop_web-7d9f/app.log on its node
    const written = `${POD_LOGS_HOST_PATH}/${'$(POD_NAMESPACE)_$(POD_NAME)'.replace('$(POD_NAMESPACE)', 'shop').replace('$(POD_NAME)', 'web-7d9f')}/app.log`;
    const glob = new RegExp(`^${input.paths[0]!.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
    expect(written).toMatch(glob);
    expect(`${POD_LOGS_HOST_PATH}/app.log`).not.toMatch(glob);
  });
});
