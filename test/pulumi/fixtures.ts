// A small stand-in for the real synthesis (infra/synth) with the same shapes: upstream image
// references in objects and chart values, CRs of every operator group, a constructs-style
// placeholder Secret and an in-cluster CA Certificate. Used to test the program's calculations
// independently of the construct library.
import type { Cluster, Site } from '../../infra/site/index';
import type { ChartRelease, ClusterSynth, ComponentManifests, K8sObject, SynthOptions } from '../../infra/synth/types';

const ns = (name: string): K8sObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });

export function fixtureCharts(site: Site, _cluster: Cluster): ChartRelease[] {
  const charts: ChartRelease[] = [
    { id: 'tigera-operator', component: 'calico', chart: 'tigera-operator', repository: 'https://docs.tigera.io/calico/charts', version: 'v3.29.1', namespace: 'tigera-operator', values: { tigeraOperator: { image: 'tigera/operator', registry: 'quay.io', version: 'v1.36.2' }, calicoctl: { image: 'docker.io/calico/ctl', tag: 'v3.29.1' }, installation: { enabled: false } }, images: ['quay.io/tigera/operator:v1.36.2', 'docker.io/calico/ctl:v3.29.1'] },
    { id: 'cert-manager', component: 'cert-manager', chart: 'cert-manager', repository: 'https://charts.jetstack.io', version: 'v1.16.2', namespace: 'cert-manager', values: { crds: { enabled: true }, image: { repository: 'quay.io/jetstack/cert-manager-controller', tag: 'v1.16.2' }, webhook: { image: { repository: 'quay.io/jetstack/cert-manager-webhook' } } }, images: ['quay.io/jetstack/cert-manager-controller:v1.16.2'] },
    { id: 'istio-base', component: 'istio', chart: 'base', repository: 'https://istio-release.storage.googleapis.com/charts', version: '1.24.2', namespace: 'istio-system', values: {}, images: [] },
    { id: 'istiod', component: 'istio', chart: 'istiod', repository: 'https://istio-release.storage.googleapis.com/charts', version: '1.24.2', namespace: 'istio-system', values: { global: { hub: 'docker.io/istio', tag: '1.24.2' } }, images: ['docker.io/istio/pilot:1.24.2'] },
    { id: 'istio-ingress', component: 'istio', chart: 'gateway', repository: 'https://istio-release.storage.googleapis.com/charts', version: '1.24.2', namespace: 'istio-ingress', values: { service: { type: 'ClusterIP' } }, images: ['docker.io/istio/proxyv2:1.24.2'] },
    { id: 'eck-operator', component: 'logging', chart: 'eck-operator', repository: 'https://helm.elastic.co', version: '2.15.0', namespace: 'elastic-system', values: { image: { repository: 'docker.elastic.co/eck/eck-operator', tag: '2.15.0' } }, images: ['docker.elastic.co/eck/eck-operator:2.15.0'] },
    { id: 'kube-prometheus-stack', component: 'monitoring', chart: 'kube-prometheus-stack', repository: 'https://prometheus-community.github.io/helm-charts', version: '66.3.1', namespace: 'monitoring', values: { prometheus: { prometheusSpec: { retention: `${site.spec.monitoring.retentionDays}d`, image: { registry: 'quay.io', repository: 'prometheus/prometheus', tag: 'v2.55.1' } } }, grafana: { image: { registry: 'docker.io', repository: 'grafana/grafana' } } }, images: ['quay.io/prometheus/prometheus:v2.55.1', 'docker.io/grafana/grafana:11.3.1'] },
    { id: 'csi-driver-nfs', component: 'storage', chart: 'csi-driver-nfs', repository: 'https://raw.githubusercontent.com/kubernetes-csi/csi-driver-nfs/master/charts', version: 'v4.9.0', namespace: 'kube-system', values: { image: { nfs: { repository: 'registry.k8s.io/sig-storage/nfsplugin', tag: 'v4.9.0' } } }, images: ['registry.k8s.io/sig-storage/nfsplugin:v4.9.0'] },
  ];
  if (site.spec.storage.ceph) {
    charts.push({ id: 'ceph-csi-rbd', component: 'storage', chart: 'ceph-csi-rbd', repository: 'https://ceph.github.io/csi-charts', version: '3.12.3', namespace: 'ceph-csi', values: { nodeplugin: { plugin: { image: { repository: 'quay.io/cephcsi/cephcsi', tag: 'v3.12.3' } } } }, images: ['quay.io/cephcsi/cephcsi:v3.12.3'] });
  }
  return charts;
}

export function fixtureSynth(site: Site, cluster: Cluster, _opts: SynthOptions = {}): ClusterSynth {
  const components: ComponentManifests[] = [
    {
      component: 'calico',
      objects: [
        { apiVersion: 'operator.tigera.io/v1', kind: 'Installation', metadata: { name: 'default' }, spec: { calicoNetwork: { ipPools: [{ cidr: site.spec.network.podCIDR }] } } },
        ...site.spec.network.routers.map((r): K8sObject => ({ apiVersion: 'crd.projectcalico.org/v1', kind: 'BGPPeer', metadata: { name: r.name }, spec: { peerIP: r.address, asNumber: r.asNumber } })),
      ],
    },
    {
      component: 'cert-manager',
      objects: [
        { apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', metadata: { name: 'site-selfsigned' }, spec: { selfSigned: {} } },
        ...(site.spec.certificates.issuer === 'ca'
          ? [{ apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'site-root-ca', namespace: 'cert-manager' }, spec: { isCA: true, secretName: 'site-root-ca', commonName: 'ca' } } as K8sObject]
          : []),
        { apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', metadata: { name: 'site' }, spec: { ca: { secretName: 'site-root-ca' } } },
      ],
    },
    {
      component: 'istio',
      objects: [
        ns('istio-ingress'),
        { apiVersion: 'networking.istio.io/v1', kind: 'Gateway', metadata: { name: 'site', namespace: 'istio-ingress' }, spec: { servers: [{ hosts: [`*.${site.spec.domain}`], port: { number: 443, name: 'https', protocol: 'HTTPS' } }] } },
      ],
    },
    {
      component: 'edge-gateway',
      objects: [
        ns('edge'),
        { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'edge-keepalived', namespace: 'edge' }, spec: { template: { spec: { containers: [{ name: 'keepalived', image: 'osixia/keepalived:2.0.20' }] } } } },
      ],
    },
    {
      component: 'logging',
      objects: [
        ns('logging'),
        { apiVersion: 'elasticsearch.k8s.elastic.co/v1', kind: 'Elasticsearch', metadata: { name: 'logs', namespace: 'logging' }, spec: { version: '8.15.3', image: 'docker.elastic.co/elasticsearch/elasticsearch:8.15.3', nodeSets: [{ name: 'default', count: site.spec.logging.elasticsearch.nodes }] } },
      ],
    },
    {
      component: 'monitoring',
      objects: [{ apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', metadata: { name: 'site', namespace: 'monitoring' }, spec: { groups: [] } }],
    },
    {
      component: 'registry',
      objects: [ns('registry'), { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'registry', namespace: 'registry' }, spec: { template: { spec: { containers: [{ name: 'registry', image: 'registry:2.8.3' }] } } } }],
    },
    {
      component: 'storage',
      objects: [
        { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'nfs' }, provisioner: 'nfs.csi.k8s.io' },
        ...(site.spec.storage.ceph
          ? [ns('ceph-csi'), { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'csi-rbd-secret', namespace: 'ceph-csi', annotations: { 'flotilla.dev/filled-by': 'flotilla install' } }, type: 'Opaque', stringData: { userID: '', userKey: '' } } as K8sObject]
          : []),
      ],
    },
    {
      component: 'federation',
      objects: [ns('flotilla-system'), { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'cluster-mgr', namespace: 'flotilla-system' }, spec: { replicas: 2, template: { spec: { containers: [{ name: 'cluster-mgr', image: 'ghcr.io/flotilla/cluster-mgr:0.1.0' }] } } } }],
    },
  ];
  return { cluster: cluster.name, components, charts: fixtureCharts(site, cluster) };
}
