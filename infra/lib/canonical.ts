// Canonical (deterministic) JSON-shaped values: object keys sorted, arrays kept in order.

const TOP = ['apiVersion', 'kind', 'metadata'];

/**
 * Deep copy with object keys sorted (UTF-16 order). `kubernetesTop`: at the top level
 * `apiVersion`, `kind`, `metadata` come first (manifest style). Never mutates `value`.
 */
export function canonical(value: unknown, kubernetesTop = false): unknown {
  if (Array.isArray(value)) return value.map((v) => canonical(v));
  if (value && typeof value === 'object') {
    const keys = Object.keys(value as object).sort((a, b) => {
      if (kubernetesTop) {
        const ia = TOP.indexOf(a);
        const ib = TOP.indexOf(b);
        if (ia >= 0 || ib >= 0) return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
      }
      return a < b ? -1 : a > b ? 1 : 0;
    });
    return Object.fromEntries(keys.map((k) => [k, canonical((value as Record<string, unknown>)[k])]));
  }
  return value;
}

/** Deterministic JSON text: sorted object keys, 2-space indent, trailing newline. */
export function canonicalJson(value: unknown): string {
  return `${JSON.stringify(canonical(value), null, 2)}\n`;
}
