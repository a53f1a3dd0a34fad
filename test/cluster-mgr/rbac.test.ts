// The RBAC attributes of cluster-mgr's requests (what a 403 names) and the member rules as data.
import { describe, expect, it } from 'vitest';
import { CLUSTER_MGR_MEMBER_RULES, requestAttributes, rulesAllow } from '../../infra/lib/cluster-mgr-rbac';

describe('requestAttributes', () => {
  it.each([
    ['GET', '/api/v1/nodes', { verb: 'list', resource: 'nodes' }],
    ['GET', '/api/v1/pods?watch=1&allowWatchBookmarks=true&timeoutSeconds=60&resourceVersion=5', { verb: 'watch', resource: 'pods' }],
    ['GET', '/apis/apps/v1/deployments?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dcluster-mgr', { verb: 'list', resource: 'deployments.apps' }],
    ['PATCH', '/apis/apps/v1/namespaces/shop/deployments/web?fieldManager=cluster-mgr&force=true', { verb: 'patch', resource: 'deployments.apps', namespace: 'shop' }],
    ['POST', '/api/v1/namespaces', { verb: 'create', resource: 'namespaces' }],
    ['GET', '/api/v1/namespaces/shop/configmaps/web-config', { verb: 'get', resource: 'configmaps', namespace: 'shop' }],
    ['PUT', '/apis/coordination.k8s.io/v1/namespaces/flotilla-system/leases/cluster-mgr', { verb: 'update', resource: 'leases.coordination.k8s.io', namespace: 'flotilla-system' }],
    ['PATCH', '/apis/flotilla.dev/v1alpha1/namespaces/shop/federatedapps/web/status', { verb: 'patch', resource: 'federatedapps/status.flotilla.dev', namespace: 'shop' }],
    ['DELETE', '/apis/apps/v1/namespaces/shop/deployments', { verb: 'deletecollection', resource: 'deployments.apps', namespace: 'shop' }],
    ['GET', '/readyz', { verb: 'get', resource: '/readyz' }],
  ])('%s %s', (method, path, want) => {
    expect(requestAttributes(method, path)).toEqual(want);
  });
});

describe('CLUSTER_MGR_MEMBER_RULES', () => {
  // Every request cluster-mgr makes on a member (adapters/kube.ts; daemon apps/propagation/cr-apps).
  const used: [string, string][] = [
    ['GET', '/readyz'],
    ['GET', '/api/v1/nodes'],
    ['GET', '/api/v1/nodes?watch=1'],
    ['GET', '/api/v1/pods'],
    ['GET', '/api/v1/pods?watch=1'],
    ['GET', '/apis/apps/v1/deployments'],
    ['GET', '/apis/apps/v1/deployments?watch=1'],
    ['PATCH', '/apis/apps/v1/namespaces/shop/deployments/web'],
    ['POST', '/apis/apps/v1/namespaces/shop/deployments'], // server-side apply of a new object is authorised as create too
    ['DELETE', '/apis/apps/v1/namespaces/shop/deployments/web'],
    ['POST', '/api/v1/namespaces'],
    ['GET', '/api/v1/namespaces/shop/configmaps/c'],
    ['PATCH', '/api/v1/namespaces/shop/configmaps/c'],
    ['POST', '/api/v1/namespaces/shop/configmaps'],
    ['GET', '/api/v1/namespaces/shop/secrets/s'],
    ['PATCH', '/api/v1/namespaces/shop/secrets/s'],
    ['POST', '/api/v1/namespaces/shop/secrets'],
    ['GET', '/api/v1/namespaces/shop/persistentvolumeclaims/p'],
    ['POST', '/api/v1/namespaces/shop/persistentvolumeclaims'],
    ['GET', '/api/v1/namespaces/shop/services/web'],
    ['PATCH', '/api/v1/namespaces/shop/services/web'],
    ['POST', '/api/v1/namespaces/shop/services'],
    ['GET', '/api/v1/persistentvolumes/pv-1'],
    ['POST', '/api/v1/persistentvolumes'],
    // propagation: the source member's objects are watched cluster-wide; copies gone from the source are deleted (never PVCs)
    ['GET', '/api/v1/configmaps'],
    ['GET', '/api/v1/configmaps?watch=1'],
    ['GET', '/api/v1/secrets'],
    ['GET', '/api/v1/secrets?watch=1'],
    ['GET', '/api/v1/persistentvolumeclaims'],
    ['GET', '/api/v1/persistentvolumeclaims?watch=1'],
    ['GET', '/api/v1/services'],
    ['GET', '/api/v1/services?watch=1'],
    ['GET', '/api/v1/persistentvolumes'],
    ['GET', '/api/v1/persistentvolumes?watch=1'],
    ['DELETE', '/api/v1/namespaces/shop/configmaps/c'],
    ['DELETE', '/api/v1/namespaces/shop/secrets/s'],
    ['DELETE', '/api/v1/namespaces/shop/services/web'],
  ];
  it('allows every request cluster-mgr makes on a member, and each rule verb is one of them (nothing more)', () => {
    for (const [m, p] of used) expect(rulesAllow(CLUSTER_MGR_MEMBER_RULES, requestAttributes(m, p)), `${m} ${p}`).toBe(true);
    const granted = CLUSTER_MGR_MEMBER_RULES.flatMap((r) => (r.nonResourceURLs ?? r.resources ?? []).flatMap((res) => r.verbs.map((v) => `${v} ${res}`)));
    const needed = new Set(used.map(([m, p]) => requestAttributes(m, p)).map((a) => `${a.verb} ${a.resource.replace(/\.apps$/, '')}`));
    expect(granted.filter((g) => !needed.has(g))).toEqual([]);
  });
  it('no wildcards, nothing cluster-mgr does not touch (no update, no deletecollection, no escalate/bind/impersonate)', () => {
    for (const r of CLUSTER_MGR_MEMBER_RULES) {
      expect(r.verbs).not.toContain('*');
      for (const v of ['update', 'deletecollection', 'escalate', 'bind', 'impersonate']) expect(r.verbs).not.toContain(v);
      expect(r.resources ?? []).not.toContain('*');
    }
  });
  it('a denied request is denied', () => {
    expect(rulesAllow(CLUSTER_MGR_MEMBER_RULES, requestAttributes('DELETE', '/api/v1/namespaces/shop'))).toBe(false);
    expect(rulesAllow(CLUSTER_MGR_MEMBER_RULES, requestAttributes('DELETE', '/api/v1/namespaces/shop/persistentvolumeclaims/p'))).toBe(false); // data: never deleted
    expect(rulesAllow(CLUSTER_MGR_MEMBER_RULES, requestAttributes('DELETE', '/api/v1/persistentvolumes/pv-1'))).toBe(false); // data: never deleted
    expect(rulesAllow(CLUSTER_MGR_MEMBER_RULES, requestAttributes('PATCH', '/api/v1/persistentvolumes/pv-1'))).toBe(false); // created once, never modified
    expect(rulesAllow(CLUSTER_MGR_MEMBER_RULES, requestAttributes('GET', '/api/v1/namespaces/shop/serviceaccounts'))).toBe(false);
  });
});

describe('memberKubeconfig (the cluster-mgr-kubeconfigs Secret entries Pulumi builds)', () => {
  it('is a kubeconfig client-node loads: the member server, its CA, the token', async () => {
    const { KubeConfig } = await import('@kubernetes/client-node');
    const { memberKubeconfig } = await import('../../infra/pulumi/cluster-mgr');
    const kc = new KubeConfig();
    kc.loadFromString(memberKubeconfig({ member: 'sh1-b', server: 'https://10.20.2.10:6443', caBase64: Buffer.from('PEM').toString('base64'), token: 'tok-123' }));
    expect(kc.getCurrentCluster()).toMatchObject({ name: 'sh1-b', server: 'https://10.20.2.10:6443', caData: Buffer.from('PEM').toString('base64') });
    expect(kc.getCurrentUser()?.token).toBe('tok-123');
  });
});
