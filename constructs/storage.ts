// Storage: StorageClasses for csi-driver-nfs and/or ceph-csi (RBD, and CephFS when a file system is
// named), the shape of the Secrets ceph-csi reads, and exactly one default class.
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { apiObject, checkDnsName, PropError } from './common';
import { parseIPv4 } from '../infra/lib/net';

const NAME = 'Storage';
export const DEFAULT_CLASS_ANNOTATION = 'storageclass.kubernetes.io/is-default-class';

export interface NfsOptions {
  /** NFS server address or host name. */
  readonly server: string;
  /** Absolute export path. */
  readonly path: string;
}
export interface CephOptions {
  /** Monitor `host:port` addresses. */
  readonly monitors: readonly string[];
  /** RBD pool. */
  readonly pool: string;
  /** CephFS file system; adds the `ceph-fs` class. @default - no CephFS class */
  readonly fsName?: string;
  /** ceph-csi cluster id. */
  readonly clusterID: string;
}

/** A storage backend: NFS (csi-driver-nfs) or Ceph (ceph-csi). */
export class StorageBackend {
  static nfs(opts: NfsOptions): StorageBackend {
    if (!opts.server) throw new PropError(NAME, 'nfs.server', opts.server, 'an NFS server address or host name');
    if (!opts.path.startsWith('/')) throw new PropError(NAME, 'nfs.path', opts.path, 'an absolute export path such as "/export/k8s"');
    return new StorageBackend('nfs', opts, undefined);
  }
  static ceph(opts: CephOptions): StorageBackend {
    if (opts.monitors.length === 0) throw new PropError(NAME, 'ceph.monitors', [], 'at least one monitor "host:port"');
    for (const m of opts.monitors) if (!/^[^:\s]+:\d{1,5}$/.test(m)) throw new PropError(NAME, 'ceph.monitors', m, 'host:port, e.g. "10.10.0.61:6789"');
    if (!opts.pool) throw new PropError(NAME, 'ceph.pool', opts.pool, 'an RBD pool name');
    if (!opts.clusterID) throw new PropError(NAME, 'ceph.clusterID', opts.clusterID, 'a ceph-csi cluster id');
    return new StorageBackend('ceph', undefined, opts);
  }
  private constructor(
    readonly kind: 'nfs' | 'ceph',
    readonly nfsOptions: NfsOptions | undefined,
    readonly cephOptions: CephOptions | undefined,
  ) {}
  /** StorageClass names this backend creates; the first is the backend's default candidate. */
  get classNames(): string[] {
    if (this.kind === 'nfs') return ['nfs'];
    return this.cephOptions?.fsName ? ['ceph-rbd', 'ceph-fs'] : ['ceph-rbd'];
  }
}

export interface StorageProps {
  /** Backends to offer (at most one of each kind). */
  readonly backends: readonly StorageBackend[];
  /** Backend whose first class is the cluster default. */
  readonly defaultBackend: 'nfs' | 'ceph';
  /**
   * Namespace of the ceph-csi secrets.
   * @default - 'ceph-csi'
   */
  readonly cephNamespace?: string;
  /**
   * Reclaim policy.
   * @default - 'Retain'
   */
  readonly reclaimPolicy?: 'Retain' | 'Delete';
}

export class Storage extends Construct {
  /** Name of the single default StorageClass. */
  readonly defaultClass: string;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    const kinds = props.backends.map((b) => b.kind);
    if (kinds.length === 0) throw new PropError(NAME, 'backends', [], 'at least one StorageBackend');
    if (new Set(kinds).size !== kinds.length) throw new PropError(NAME, 'backends', kinds, 'at most one backend of each kind');
    const def = props.backends.find((b) => b.kind === props.defaultBackend);
    if (!def) throw new PropError(NAME, 'defaultBackend', props.defaultBackend, `one of the configured backends (${kinds.join(', ')})`);
    this.defaultClass = def.classNames[0]!;
    const cephNs = props.cephNamespace ?? 'ceph-csi';
    const reclaimPolicy = props.reclaimPolicy ?? 'Retain';
    const annotations = (name: string) => ({ [DEFAULT_CLASS_ANNOTATION]: String(name === this.defaultClass) });

    for (const b of props.backends) {
      if (b.nfsOptions) {
        checkDnsNameOrIp('nfs.server', b.nfsOptions.server);
        apiObject(this, b.kind === props.defaultBackend ? 'Resource' : 'Nfs', {
          apiVersion: 'storage.k8s.io/v1',
          kind: 'StorageClass',
          metadata: { name: 'nfs', annotations: annotations('nfs') },
          provisioner: 'nfs.csi.k8s.io',
          parameters: { server: b.nfsOptions.server, share: b.nfsOptions.path, subDir: '${pvc.metadata.namespace}/${pvc.metadata.name}' },
          reclaimPolicy,
          volumeBindingMode: 'Immediate',
          allowVolumeExpansion: true,
          mountOptions: ['nfsvers=4.1', 'hard'],
        });
      }
      if (b.cephOptions) {
        const c = b.cephOptions;
        apiObject(this, 'CephNamespace', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: cephNs } });
        // Shape only: the keys ceph-csi reads. `flotilla install` fills the values; they never appear in output.
        for (const [id, name, keys] of [
          ['RbdSecret', 'csi-rbd-secret', ['userID', 'userKey']],
          ...(c.fsName ? [['CephFsSecret', 'csi-cephfs-secret', ['adminID', 'adminKey']] as const] : []),
        ] as const) {
new kplus.Secret(this, id, {
            metadata: { name, namespace: cephNs, annotations: { 'flotilla.dev/filled-by': 'flotilla install' } },
            type: 'Opaque',
            stringData: Object.fromEntries(keys.map((k) => [k, ''])),
          });
        }
        const secretParams = (secret: string) => ({
          'csi.storage.k8s.io/provisioner-secret-name': secret,
          'csi.storage.k8s.io/provisioner-secret-namespace': cephNs,
          'csi.storage.k8s.io/controller-expand-secret-name': secret,
          'csi.storage.k8s.io/controller-expand-secret-namespace': cephNs,
          'csi.storage.k8s.io/node-stage-secret-name': secret,
          'csi.storage.k8s.io/node-stage-secret-namespace': cephNs,
        });
        apiObject(this, b.kind === props.defaultBackend ? 'Resource' : 'CephRbd', {
          apiVersion: 'storage.k8s.io/v1',
          kind: 'StorageClass',
          metadata: { name: 'ceph-rbd', annotations: annotations('ceph-rbd') },
          provisioner: 'rbd.csi.ceph.com',
          parameters: { clusterID: c.clusterID, pool: c.pool, imageFeatures: 'layering', 'csi.storage.k8s.io/fstype': 'ext4', ...secretParams('csi-rbd-secret') },
          reclaimPolicy,
          volumeBindingMode: 'Immediate',
          allowVolumeExpansion: true,
        });
        if (c.fsName) {
          apiObject(this, 'CephFs', {
            apiVersion: 'storage.k8s.io/v1',
            kind: 'StorageClass',
            metadata: { name: 'ceph-fs', annotations: annotations('ceph-fs') },
            provisioner: 'cephfs.csi.ceph.com',
            parameters: { clusterID: c.clusterID, fsName: c.fsName, ...secretParams('csi-cephfs-secret') },
            reclaimPolicy,
            volumeBindingMode: 'Immediate',
            allowVolumeExpansion: true,
          });
        }
      }
    }
  }
}

function checkDnsNameOrIp(prop: string, v: string): void {
  if (parseIPv4(v) !== undefined) return;
  checkDnsName(NAME, prop, v);
}
