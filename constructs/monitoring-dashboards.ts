// Grafana dashboards Flotilla ships (JSON models, loaded by the kube-prometheus-stack Grafana
// sidecar from labelled ConfigMaps): the site dashboard (nodes, capacity, ingress, probes,
// certificates, registry sync, volumes) and the federation dashboard (cluster-mgr's metrics).
// Every panel's query is PromQL checked by `promtool check rules` in test/synth/monitoring.test.ts.

export interface DashboardPanel {
  readonly title: string;
  readonly expr: string;
  /** Legend template, e.g. '{{member}}'. */
  readonly legend?: string;
  /** Grafana unit ('percent', 's', 'percentunit', 'short' …). @default - 'short' */
  readonly unit?: string;
}

export interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly panels: readonly DashboardPanel[];
}

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

/** A Grafana dashboard JSON model: time series panels two per row, a Prometheus datasource variable. */
export function grafanaDashboard(d: Dashboard): Record<string, unknown> {
  return {
    uid: d.uid,
    title: d.title,
    tags: ['flotilla'],
    timezone: 'browser',
    schemaVersion: 39,
    version: 1,
    editable: false,
    refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    templating: { list: [{ name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Prometheus', current: {}, hide: 0 }] },
    panels: d.panels.map((p, i) => ({
      id: i + 1,
      type: 'timeseries',
      title: p.title,
      datasource: DATASOURCE,
      gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
      fieldConfig: { defaults: { unit: p.unit ?? 'short' }, overrides: [] },
      options: { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'none' } },
      targets: [{ refId: 'A', datasource: DATASOURCE, expr: p.expr, legendFormat: p.legend ?? '__auto' }],
    })),
  };
}

/** The site dashboard's panels (`requests` gives the capacity queries of the capacity alert). */
export function sitePanels(requests: (resource: 'cpu' | 'memory') => string): DashboardPanel[] {
  return [
    { title: 'Nodes not Ready', expr: 'count(kube_node_status_condition{condition="Ready",status="true"} == 0) or vector(0)' },
    { title: 'CPU requests / allocatable', expr: requests('cpu'), legend: 'CPU', unit: 'percent' },
    { title: 'Memory requests / allocatable', expr: requests('memory'), legend: 'memory', unit: 'percent' },
    {
      title: 'Ingress gateway 5xx ratio',
      expr: 'sum(rate(istio_requests_total{reporter="source",source_workload="istio-ingressgateway",response_code=~"5.."}[5m])) / sum(rate(istio_requests_total{reporter="source",source_workload="istio-ingressgateway"}[5m]))',
      unit: 'percentunit',
    },
    { title: 'Site probes', expr: 'probe_success', legend: '{{probe}}' },
    { title: 'Certificate days left', expr: '(certmanager_certificate_expiration_timestamp_seconds - time()) / 86400', legend: '{{namespace}}/{{name}}' },
    { title: 'Registry sync age', expr: 'time() - kube_cronjob_status_last_successful_time{cronjob=~"registry-sync-.*"}', legend: '{{cronjob}}', unit: 's' },
    { title: 'Volume usage', expr: 'kubelet_volume_stats_used_bytes / kubelet_volume_stats_capacity_bytes', legend: '{{namespace}}/{{persistentvolumeclaim}}', unit: 'percentunit' },
  ];
}

export function federationPanels(): DashboardPanel[] {
  return [
    { title: 'Member serving', expr: 'cluster_mgr_member_healthy', legend: '{{member}}' },
    { title: 'Member health state', expr: 'cluster_mgr_member_health == 1', legend: '{{member}} {{state}}' },
    { title: 'Front traffic weight', expr: 'cluster_mgr_member_traffic_weight', legend: '{{member}}' },
    { title: 'Assigned replicas', expr: 'sum by (app, member) (cluster_mgr_assigned_replicas)', legend: '{{app}} on {{member}}' },
    { title: 'Unschedulable replicas', expr: 'cluster_mgr_unschedulable_replicas', legend: '{{app}}' },
    { title: 'Failovers and failbacks (1h)', expr: 'sum by (member) (increase(cluster_mgr_failovers_total[1h])) or sum by (member) (increase(cluster_mgr_failbacks_total[1h]))', legend: '{{member}}' },
    { title: 'Reconcile p99', expr: 'histogram_quantile(0.99, sum by (le) (rate(cluster_mgr_reconcile_duration_seconds_bucket[5m])))', unit: 's' },
    { title: 'Leader', expr: 'max(cluster_mgr_leader)' },
  ];
}
