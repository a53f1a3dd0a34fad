// Kubernetes resource.Quantity for the simulator (cpu, memory, pods): the project's one parser, plus
// absent values and the integer units the simulator accounts in.
import { parseQuantity as parseSiteQuantity } from '../../infra/lib/units';

/** The numeric value of a quantity ("500m" → 0.5, "1Gi" → 1073741824); undefined when absent or malformed. */
export function parseQuantity(q: string | number | undefined | null): number | undefined {
  return q === undefined || q === null ? undefined : parseSiteQuantity(q);
}

/** Millicores of a cpu quantity (0 when absent or malformed). */
export const milliCpu = (q: string | number | undefined | null): number => Math.round((parseQuantity(q) ?? 0) * 1000);
/** Bytes of a memory quantity (0 when absent or malformed). */
export const bytes = (q: string | number | undefined | null): number => Math.round(parseQuantity(q) ?? 0);
