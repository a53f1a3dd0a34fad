// What one pod asks the scheduler for: the one pure sum over a pod's containers, shared by the
// spread planner and the simulator's scheduler (cluster-mgr) and anything in infra that sizes pods.
import { parseQuantity } from './units';

type Quantity = string | number;

/** The part of a container this reads (a Kubernetes container or a zod-parsed template's). */
export interface ContainerResources {
  readonly resources?: {
    readonly requests?: { readonly cpu?: Quantity; readonly memory?: Quantity } | Readonly<Record<string, Quantity | undefined>>;
    readonly limits?: { readonly cpu?: Quantity; readonly memory?: Quantity } | Readonly<Record<string, Quantity | undefined>>;
  };
}

export interface PodRequests {
  /** CPU in cores (`500m` → 0.5). */
  readonly cpu: number;
  /** Memory in bytes. */
  readonly memory: number;
}

/**
 * Sum of the containers' requests. A missing request takes the container's limit, as the API
 * server defaults it (so a limits-only pod is placed by its limits); absent or malformed → 0.
 * `quantity` parses one value (inject a memoizing parser when planning many apps).
 */
export function podRequests(
  containers: readonly ContainerResources[] | undefined,
  quantity: (q: Quantity) => number | undefined = parseQuantity,
): PodRequests {
  let cpu = 0;
  let memory = 0;
  const value = (q: Quantity | undefined): number => (q === undefined || q === null ? 0 : (quantity(q) ?? 0));
  for (const c of containers ?? []) {
    const req = (c.resources?.requests ?? {}) as { cpu?: Quantity; memory?: Quantity };
    const lim = (c.resources?.limits ?? {}) as { cpu?: Quantity; memory?: Quantity };
    cpu += value(req.cpu ?? lim.cpu);
    memory += value(req.memory ?? lim.memory);
  }
  return { cpu, memory };
}
