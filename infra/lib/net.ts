// Pure IPv4 address and CIDR helpers used by the Site model, the renderers and cluster-mgr.

export interface Cidr {
  /** Network address as an unsigned 32-bit integer (host bits cleared). */
  readonly network: number;
  /** Prefix length, 0–32. */
  readonly prefix: number;
  /** The address as written (may have host bits set, e.g. a VIP `10.0.0.5/24`). */
  readonly address: number;
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** Parses dotted-quad IPv4; returns undefined when not a valid address. */
export function parseIPv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!OCTET.test(part)) return undefined;
    value = value * 256 + Number(part);
  }
  return value >>> 0;
}

export function formatIPv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join('.');
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Parses `a.b.c.d/n`; returns undefined when malformed. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = parseIPv4(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (address === undefined || !/^\d{1,2}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > 32) return undefined;
  return { network: (address & maskOf(prefix)) >>> 0, prefix, address };
}

export function cidrContains(cidr: Cidr, address: number): boolean {
  return ((address & maskOf(cidr.prefix)) >>> 0) === cidr.network;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  const prefix = Math.min(a.prefix, b.prefix);
  const mask = maskOf(prefix);
  return ((a.network & mask) >>> 0) === ((b.network & mask) >>> 0);
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIPv4(cidr.network)}/${cidr.prefix}`;
}

/** `host:port` with an IPv4 host and a port 1–65535. */
export function parseHostPort(text: string): { host: string; port: number } | undefined {
  const m = /^(.+):(\d{1,5})$/.exec(text);
  if (!m || parseIPv4(m[1]!) === undefined) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1]!, port };
}
