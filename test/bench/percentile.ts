// The nearest-rank percentile the benches report (p50/p95 of a handful of trials): the smallest
// sample with at least p % of the samples at or below it; NaN for no samples.
export function pct(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}
