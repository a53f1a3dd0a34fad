// POSIX shell quoting for commands run over SSH and scripts run by the Pulumi command provider.

/** Single-quotes one argument for a POSIX shell (`it's` → `'it'\''s'`). */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
