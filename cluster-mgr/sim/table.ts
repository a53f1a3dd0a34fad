// meta.k8s.io/v1 Table rendering (what `kubectl get` asks for), with the real server's columns for
// the common kinds and Name/Age for the rest.
import type { ResourceType } from './resources';
import type { KObject } from './selectors';

interface Column {
  name: string;
  type: string;
  format?: string;
  description: string;
  priority?: number;
  cell: (o: KObject, now: number) => unknown;
}

/** kubectl's HumanDuration ("45s", "3m10s", "5h", "12d"). */
export function humanAge(fromIso: string | undefined, now: number): string {
  if (!fromIso) return '<unknown>';
  const s = Math.max(0, Math.floor((now - Date.parse(fromIso)) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (h < 24 * 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}

const name: Column = { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', cell: (o) => o.metadata.name };
const age: Column = { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', cell: (o, now) => humanAge(o.metadata.creationTimestamp, now) };
const cond = (o: KObject, type: string) => ((o.status?.conditions ?? []) as KObject[]).find((c) => c.type === type);

function podStatus(p: KObject): string {
  if (p.metadata.deletionTimestamp) return 'Terminating';
  const waiting = ((p.status?.containerStatuses ?? []) as KObject[]).find((c) => c.state?.waiting?.reason);
  if (waiting) return waiting.state.waiting.reason;
  return p.status?.reason ?? p.status?.phase ?? 'Unknown';
}

function nodeRoles(n: KObject): string {
  const roles = Object.keys(n.metadata.labels ?? {})
    .filter((k) => k.startsWith('node-role.kubernetes.io/'))
    .map((k) => k.slice('node-role.kubernetes.io/'.length))
    .filter((r) => r !== '');
  return roles.length ? roles.sort().join(',') : '<none>';
}

const COLUMNS: Record<string, Column[]> = {
  Node: [
    name,
    {
      name: 'Status',
      type: 'string',
      description: 'The status of the node',
      cell: (n) => {
        const r = cond(n, 'Ready');
        const s = r?.status === 'True' ? 'Ready' : r?.status === 'False' ? 'NotReady' : 'Unknown';
        return n.spec?.unschedulable ? `${s},SchedulingDisabled` : s;
      },
    },
    { name: 'Roles', type: 'string', description: 'The roles of the node', cell: nodeRoles },
    age,
    { name: 'Version', type: 'string', description: 'Kubelet Version reported by the node.', cell: (n) => n.status?.nodeInfo?.kubeletVersion ?? '' },
    { name: 'Internal-IP', type: 'string', priority: 1, description: "List of internal IPs.", cell: (n) => ((n.status?.addresses ?? []) as KObject[]).find((a) => a.type === 'InternalIP')?.address ?? '<none>' },
    { name: 'External-IP', type: 'string', priority: 1, description: 'List of external IPs.', cell: (n) => ((n.status?.addresses ?? []) as KObject[]).find((a) => a.type === 'ExternalIP')?.address ?? '<none>' },
    { name: 'OS-Image', type: 'string', priority: 1, description: 'OS Image reported by the node.', cell: (n) => n.status?.nodeInfo?.osImage ?? '' },
    { name: 'Kernel-Version', type: 'string', priority: 1, description: 'Kernel Version reported by the node.', cell: (n) => n.status?.nodeInfo?.kernelVersion ?? '' },
    { name: 'Container-Runtime', type: 'string', priority: 1, description: 'Container Runtime Version reported by the node.', cell: (n) => n.status?.nodeInfo?.containerRuntimeVersion ?? '' },
  ],
  Pod: [
    name,
    {
      name: 'Ready',
      type: 'string',
      description: 'The aggregate readiness state of this pod for accepting traffic.',
      cell: (p) => `${((p.status?.containerStatuses ?? []) as KObject[]).filter((c) => c.ready).length}/${(p.spec?.containers ?? []).length}`,
    },
    { name: 'Status', type: 'string', description: 'The aggregate status of the containers in this pod.', cell: podStatus },
    { name: 'Restarts', type: 'string', description: 'The number of times the containers in this pod have been restarted.', cell: (p) => String(((p.status?.containerStatuses ?? []) as KObject[]).reduce((s, c) => s + (c.restartCount ?? 0), 0)) },
    age,
    { name: 'IP', type: 'string', priority: 1, description: 'IP address allocated to the pod.', cell: (p) => p.status?.podIP ?? '<none>' },
    { name: 'Node', type: 'string', priority: 1, description: 'Name of the Node where the pod is scheduled.', cell: (p) => p.spec?.nodeName ?? '<none>' },
    { name: 'Nominated Node', type: 'string', priority: 1, description: 'Nominated node for preemption.', cell: () => '<none>' },
    { name: 'Readiness Gates', type: 'string', priority: 1, description: 'Pod readiness gates.', cell: () => '<none>' },
  ],
  Deployment: [
    name,
    { name: 'Ready', type: 'string', description: 'Number of the pod with ready state', cell: (d) => `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 1}` },
    { name: 'Up-to-date', type: 'integer', description: 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.', cell: (d) => d.status?.updatedReplicas ?? 0 },
    { name: 'Available', type: 'integer', description: 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.', cell: (d) => d.status?.availableReplicas ?? 0 },
    age,
    { name: 'Containers', type: 'string', priority: 1, description: 'Names of each container in the template.', cell: (d) => ((d.spec?.template?.spec?.containers ?? []) as KObject[]).map((c) => c.name).join(',') },
    { name: 'Images', type: 'string', priority: 1, description: 'Images referenced by each container in the template.', cell: (d) => ((d.spec?.template?.spec?.containers ?? []) as KObject[]).map((c) => c.image).join(',') },
    { name: 'Selector', type: 'string', priority: 1, description: 'Label selector for pods.', cell: (d) => Object.entries(d.spec?.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',') },
  ],
  ReplicaSet: [
    name,
    { name: 'Desired', type: 'integer', description: 'Number of desired pods.', cell: (r) => r.spec?.replicas ?? 1 },
    { name: 'Current', type: 'integer', description: 'Number of actual replicas.', cell: (r) => r.status?.replicas ?? 0 },
    { name: 'Ready', type: 'integer', description: 'Number of ready replicas.', cell: (r) => r.status?.readyReplicas ?? 0 },
    age,
  ],
  Namespace: [name, { name: 'Status', type: 'string', description: 'The status of the namespace', cell: (n) => n.status?.phase ?? '' }, age],
  ConfigMap: [name, { name: 'Data', type: 'string', description: 'Number of keys.', cell: (c) => String(Object.keys(c.data ?? {}).length + Object.keys(c.binaryData ?? {}).length) }, age],
  Secret: [
    name,
    { name: 'Type', type: 'string', description: 'The type of the secret', cell: (s) => s.type ?? 'Opaque' },
    { name: 'Data', type: 'string', description: 'The number of entries in the secret data', cell: (s) => String(Object.keys(s.data ?? {}).length) },
    age,
  ],
  PersistentVolumeClaim: [
    name,
    { name: 'Status', type: 'string', description: 'The phase of the claim.', cell: (p) => p.status?.phase ?? 'Pending' },
    { name: 'Volume', type: 'string', description: 'The bound volume.', cell: (p) => p.spec?.volumeName ?? '' },
    { name: 'Capacity', type: 'string', description: 'Capacity of the bound volume.', cell: (p) => p.status?.capacity?.storage ?? '' },
    { name: 'Access Modes', type: 'string', description: 'Access modes.', cell: (p) => ((p.status?.accessModes ?? []) as string[]).map((m) => ({ ReadWriteOnce: 'RWO', ReadOnlyMany: 'ROX', ReadWriteMany: 'RWX', ReadWriteOncePod: 'RWOP' })[m] ?? m).join(',') },
    { name: 'StorageClass', type: 'string', description: 'The storage class.', cell: (p) => p.spec?.storageClassName ?? '<unset>' },
    age,
  ],
  // The CRD's additionalPrinterColumns (Replicas, Spread) after Name, exactly as a real server serves them.
  FederatedApp: [
    name,
    { name: 'Replicas', type: 'integer', description: 'Total replicas over all member clusters (the autoscaler may change it within autoscale.min..max).', cell: (f) => f.spec?.replicas ?? null },
    { name: 'Spread', type: 'string', description: 'capacity (by free capacity), weighted (by member weight) or duplicate (the full count on every member).', cell: (f) => f.spec?.placement?.spread ?? null },
    // No Age: the real server adds its default Age column only to CRDs without additionalPrinterColumns.
  ],
  Lease: [name, { name: 'Holder', type: 'string', description: 'The holder of the lease.', cell: (l) => l.spec?.holderIdentity ?? '' }, age],
  Event: [
    { name: 'Last Seen', type: 'string', description: 'Time since the last occurrence.', cell: (e, now) => humanAge(e.lastTimestamp ?? e.metadata.creationTimestamp, now) },
    { name: 'Type', type: 'string', description: 'Type of this event.', cell: (e) => e.type ?? '' },
    { name: 'Reason', type: 'string', description: 'Reason for this event.', cell: (e) => e.reason ?? '' },
    { name: 'Object', type: 'string', description: 'The object this event is about.', cell: (e) => `${String(e.involvedObject?.kind ?? '').toLowerCase()}/${e.involvedObject?.name ?? ''}` },
    { name: 'Message', type: 'string', description: 'A description of the event.', cell: (e) => e.message ?? '' },
    { ...name, priority: 1 },
  ],
};

export interface TableOptions {
  /** `includeObject`: None | Metadata (default) | Object. */
  readonly includeObject?: string;
  readonly resourceVersion: string;
  readonly omitHeaders?: boolean;
  readonly continueToken?: string;
}

export function renderTable(res: ResourceType, objects: KObject[], opts: TableOptions): KObject {
  const cols = COLUMNS[res.kind] ?? [name, age];
  const now = Date.now();
  const include = opts.includeObject ?? 'Metadata';
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion: opts.resourceVersion },
    columnDefinitions: opts.omitHeaders
      ? []
      : cols.map((c) => ({ name: c.name, type: c.type, format: c.format ?? '', description: c.description, priority: c.priority ?? 0 })),
    rows: objects.map((o) => ({
      cells: cols.map((c) => c.cell(o, now)),
      ...(include === 'None'
        ? {}
        : {
            object:
              include === 'Object'
                ? o
                : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
          }),
    })),
  };
}
