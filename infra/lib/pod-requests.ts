// What one pod asks the scheduler for: the ONE pure request function, shared by the spread planner
// (`cluster-mgr plan`), the daemon's capacity accounting (adapters/kube), the simulator's scheduler
// and anything in infra that sizes pods. Follows the scheduler's rules (k8s.io/component-helpers
// resource.PodRequests):
//   effective = max(Σ app containers + Σ sidecars, max over init containers i of (init_i + sidecars before i))
//               + pod overhead
// where a sidecar is an init container with `restartPolicy: Always` (it keeps running beside the app
// containers). A container's missing request takes its limit, as the API server defaults it.
import { parseQuantity } from './units';

type Quantity = string | number;
type ResourceMap = { readonly cpu?: Quantity; readonly memory?: Quantity } | Readonly<Record<string, Quantity | undefined>>;

/** The part of a container this reads (a Kubernetes container or a zod-parsed template's). */
export interface ContainerResources {
  readonly resources?: { readonly requests?: ResourceMap; readonly limits?: ResourceMap };
  /** `Always` on an init container makes it a sidecar. */
  readonly restartPolicy?: string;
}

/** The part of a pod spec this reads. */
export interface PodSpecResources {
  readonly containers?: readonly ContainerResources[];
  readonly initContainers?: readonly ContainerResources[];
  /** RuntimeClass overhead, added on top (spec.overhead). */
  readonly overhead?: ResourceMap;
}

export interface PodRequests {
  /** CPU in cores (`500m` → 0.5). */
  readonly cpu: number;
  /** Memory in bytes. */
  readonly memory: number;
}

/**
 * Requests of one pod (see the file header for the rule). Absent or malformed quantities count 0.
 * `quantity` parses one value (inject a memoizing parser when planning many apps).
 */
export function podRequests(spec: PodSpecResources | undefined, quantity: (q: Quantity) => number | undefined = parseQuantity): PodRequests {
  // Plain loops and module-level helpers, no closures or tuples per call: `cluster-mgr plan` calls this
  // once per app (10,000 in its benchmark).
  let cpu = 0;
  let memory = 0;
  for (const c of spec?.containers ?? []) {
    cpu += request(c, 'cpu', quantity);
    memory += request(c, 'memory', quantity);
  }
  // Init containers run one after another before the app containers; sidecars started so far keep running.
  let sideCpu = 0;
  let sideMem = 0;
  let initCpu = 0;
  let initMem = 0;
  for (const c of spec?.initContainers ?? []) {
    const a = request(c, 'cpu', quantity);
    const b = request(c, 'memory', quantity);
    if (c.restartPolicy === 'Always') {
      sideCpu += a;
      sideMem += b;
      initCpu = Math.max(initCpu, sideCpu);
      initMem = Math.max(initMem, sideMem);
    } else {
      initCpu = Math.max(initCpu, sideCpu + a);
      initMem = Math.max(initMem, sideMem + b);
    }
  }
  const o = spec?.overhead as { cpu?: Quantity; memory?: Quantity } | undefined;
  return { cpu: Math.max(cpu + sideCpu, initCpu) + amount(o?.cpu, quantity), memory: Math.max(memory + sideMem, initMem) + amount(o?.memory, quantity) };
}

/** A quantity as a non-negative finite number; absent or malformed → 0. */
function amount(q: Quantity | undefined, quantity: (q: Quantity) => number | undefined): number {
  if (q === undefined || q === null) return 0;
  const v = quantity(q);
  return v !== undefined && Number.isFinite(v) && v > 0 ? v : 0;
}

/** One container's request of a resource, its limit when the request is absent (as the API server defaults it). */
function request(c: ContainerResources, r: 'cpu' | 'memory', quantity: (q: Quantity) => number | undefined): number {
  const res = c.resources as { requests?: { cpu?: Quantity; memory?: Quantity }; limits?: { cpu?: Quantity; memory?: Quantity } } | undefined;
  return amount(res?.requests?.[r] ?? res?.limits?.[r], quantity);
}
