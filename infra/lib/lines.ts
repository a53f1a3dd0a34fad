// Line framing for streamed text (a Kubernetes watch is one JSON object per line).

/** Splits the complete lines off a stream buffer: each trimmed, empty ones dropped, and the unfinished rest. */
export function completeLines(buf: string): { readonly lines: string[]; readonly rest: string } {
  const end = buf.lastIndexOf('\n');
  if (end < 0) return { lines: [], rest: buf };
  const lines = buf
    .slice(0, end)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return { lines, rest: buf.slice(end + 1) };
}
