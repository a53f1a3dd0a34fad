// Pure parsers for the unit-bearing strings in inventories: durations (`500ms`, `10s`, `1m30s`)
// and Kubernetes quantities (`200Gi`, `500m`).

const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
const DURATION_FULL = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const DURATION_UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Go-style duration into milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  if (!DURATION_FULL.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(DURATION_PART)) {
    total += Number(m[1]) * DURATION_UNIT_MS[m[2]!]!;
  }
  return total;
}

// Kubernetes resource.Quantity: a decimal number with a binary (Ki…Ei) or decimal (n, u, m, k…E) suffix,
// or a decimal exponent (`1e3`). Negative quantities are not accepted (no inventory or request uses them).
const QUANTITY = /^(\d+(?:\.\d*)?|\.\d+)(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$/;
const QUANTITY_FACTOR: Record<string, number> = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
  Pi: 1024 ** 5,
  Ei: 1024 ** 6,
};

/** Parses a Kubernetes quantity (`500m`, `2`, `512Mi`, `1e3`) into a plain number; undefined when malformed or negative. */
export function parseQuantity(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? text : undefined;
  const m = QUANTITY.exec(text.trim());
  if (!m) return undefined;
  if (m[2]) return Number(`${m[1]}${m[2]}`);
  return Number(m[1]) * QUANTITY_FACTOR[m[3] ?? '']!;
}
