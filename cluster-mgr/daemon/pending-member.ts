// A member whose kubeconfig file is missing at start (in a pod: a key absent from the mounted
// `cluster-mgr-kubeconfigs` Secret; the kubelet adds it when the Secret gains it). It stands in for
// the member — probes fail with the reason (so the member goes Unhealthy and its traffic and
// replicas move away as for any failed member), writes are refused — and every probe looks for the
// file again; once it is there the real member takes over, started with the daemon's signal.
import { existsSync } from 'node:fs';
import type { ClusterApi, ClusterCapacity, KubeObject, OwnedDeployment, ProbeResult } from '../contracts/index';
import { KubeError } from '../adapters/kube';

const NONE: ClusterCapacity = { allocatable: { cpu: 0, memory: 0, pods: 0 }, allocated: { cpu: 0, memory: 0, pods: 0 }, readyNodes: 0, nodes: 0 };

export interface PendingMemberOptions {
  readonly name: string;
  readonly kubeconfig: string;
  /** Builds the real member once the file exists (may throw: a bad kubeconfig stays pending). */
  readonly create: () => ClusterApi;
  /** Called with the problem while pending (each probe), and with undefined once loaded. */
  readonly onState: (problem: string | undefined) => void;
}

export class PendingMember implements ClusterApi {
  readonly name: string;
  private real: ClusterApi | undefined;
  private signal: AbortSignal | undefined;

  constructor(private readonly o: PendingMemberOptions) {
    this.name = o.name;
  }

  /** The reason while the file is missing or unusable; loads the member when it can. */
  private load(): string | undefined {
    if (this.real) return undefined;
    if (!existsSync(this.o.kubeconfig)) return `kubeconfig ${this.o.kubeconfig} does not exist: add it (in Kubernetes: the key ${this.o.kubeconfig.split('/').pop()} of the cluster-mgr-kubeconfigs Secret); retrying every probe`;
    try {
      const real = this.o.create();
      if (this.signal) real.start(this.signal);
      this.real = real;
      this.o.onState(undefined);
      return undefined;
    } catch (err) {
      return `kubeconfig ${this.o.kubeconfig}: ${(err as Error).message}; retrying every probe`;
    }
  }

  private refuse(): never {
    throw new KubeError(`member ${this.name}: ${this.load() ?? 'not loaded yet'}`, undefined, 'Unconfigured');
  }

  start(signal: AbortSignal): void {
    this.signal = signal;
    this.real?.start(signal);
  }
  synced(): boolean {
    return this.real?.synced() ?? false;
  }
  capacity(): ClusterCapacity {
    return this.real?.capacity() ?? NONE;
  }
  owned(): readonly OwnedDeployment[] {
    return this.real?.owned() ?? [];
  }
  findOwned(namespace: string, name: string): OwnedDeployment | undefined {
    return this.real?.findOwned(namespace, name);
  }
  async probe(signal?: AbortSignal): Promise<ProbeResult> {
    const why = this.load();
    if (this.real) return this.real.probe(signal);
    this.o.onState(why);
    return { ok: false, problem: 'error', reason: why ?? 'kubeconfig not loaded' };
  }
  async apply(obj: KubeObject, signal?: AbortSignal): Promise<void> {
    return this.real ? this.real.apply(obj, signal) : this.refuse();
  }
  async get(apiVersion: string, kind: string, namespace: string | undefined, name: string, signal?: AbortSignal): Promise<KubeObject | undefined> {
    return this.real ? this.real.get(apiVersion, kind, namespace, name, signal) : this.refuse();
  }
  async write(obj: KubeObject, signal?: AbortSignal): Promise<boolean> {
    return this.real ? this.real.write(obj, signal) : this.refuse();
  }
  async delete(apiVersion: string, kind: string, namespace: string | undefined, name: string, signal?: AbortSignal): Promise<void> {
    return this.real ? this.real.delete(apiVersion, kind, namespace, name, signal) : this.refuse();
  }
}
