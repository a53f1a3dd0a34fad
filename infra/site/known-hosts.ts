// OpenSSH known_hosts: parsing and matching (plain and hashed names, `[host]:port`, wildcards,
// negation, `@revoked`). Pure; used by the delivery SSH layer and the Pulumi host layer.
import { createHash, createHmac } from 'node:crypto';

export interface KnownHostEntry {
  readonly patterns: string[];
  readonly keyType: string;
  readonly key: Buffer;
  /** The key's base64 text as written in the file. */
  readonly keyText: string;
  readonly revoked: boolean;
}

/** Parses OpenSSH known_hosts text (plain and hashed host names, `[host]:port`, `@revoked`). */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const parts = line.split(/\s+/);
    let revoked = false;
    if (parts[0]?.startsWith('@')) {
      revoked = parts[0] === '@revoked';
      if (parts[0] === '@cert-authority') continue;
      parts.shift();
    }
    const [hosts, keyType, b64] = parts;
    if (!hosts || !keyType || !b64) continue;
    out.push({ patterns: hosts.split(','), keyType, key: Buffer.from(b64, 'base64'), keyText: b64, revoked });
  }
  return out;
}

/** The name known_hosts uses for host:port (`host` on 22, `[host]:port` otherwise). */
export function knownHostName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function patternMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return re.test(name);
}

export function entriesFor(entries: readonly KnownHostEntry[], host: string, port: number): KnownHostEntry[] {
  const name = knownHostName(host, port);
  return entries.filter((e) => {
    const neg = e.patterns.filter((p) => p.startsWith('!')).some((p) => patternMatches(p.slice(1), name));
    return !neg && e.patterns.some((p) => !p.startsWith('!') && patternMatches(p, name));
  });
}

/** `SHA256:<base64 without padding>`, as ssh-keygen -l prints it. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** The algorithm name inside an SSH public key blob. */
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4) return 'unknown';
  const n = key.readUInt32BE(0);
  return key.subarray(4, 4 + n).toString('ascii');
}

export type HostKeyVerdict = { ok: true } | { ok: false; reason: 'unknown' | 'changed' | 'revoked'; fingerprint: string; keyType: string };

/** Pure verdict on a presented host key against the pinned entries. */
export function checkHostKey(entries: readonly KnownHostEntry[], host: string, port: number, key: Buffer): HostKeyVerdict {
  const mine = entriesFor(entries, host, port);
  const keyType = keyTypeOf(key);
  const fp = fingerprint(key);
  if (mine.some((e) => e.revoked && e.key.equals(key))) return { ok: false, reason: 'revoked', fingerprint: fp, keyType };
  if (mine.some((e) => !e.revoked && e.key.equals(key))) return { ok: true };
  if (mine.some((e) => !e.revoked)) return { ok: false, reason: 'changed', fingerprint: fp, keyType };
  return { ok: false, reason: 'unknown', fingerprint: fp, keyType };
}

/** The pinned, non-revoked key (`type base64`) of the first of `names` that has one, for ssh clients that take a key string. */
export function pinnedKey(entries: readonly KnownHostEntry[], names: readonly string[], port: number): string | undefined {
  for (const name of names) {
    const e = entriesFor(entries, name, port).find((x) => !x.revoked);
    if (e) return `${e.keyType} ${e.keyText}`;
  }
  return undefined;
}
