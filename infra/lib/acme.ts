// ACME challenge solvers as cert-manager chooses between them, and TSIG key material for RFC 2136
// DNS-01. Pure: the site checks, the CertManagerIssuers construct and the Pulumi secret plan share it.

/** The TSIG algorithms cert-manager's RFC 2136 solver accepts (`tsigAlgorithm`). */
export const TSIG_ALGORITHMS = ['HMACMD5', 'HMACSHA1', 'HMACSHA256', 'HMACSHA512'] as const;
export type TsigAlgorithm = (typeof TSIG_ALGORITHMS)[number];

/** cert-manager's algorithm name → BIND's (`named.conf`, `nsupdate`, `tsig-keygen -a`). */
export const BIND_TSIG_ALGORITHM: Readonly<Record<TsigAlgorithm, string>> = {
  HMACMD5: 'hmac-md5',
  HMACSHA1: 'hmac-sha1',
  HMACSHA256: 'hmac-sha256',
  HMACSHA512: 'hmac-sha512',
};

/** One entry of an ACME issuer's `solvers`, reduced to what solver selection reads. */
export interface SolverChoice {
  readonly type: 'dns01' | 'http01';
  readonly selector?: { readonly dnsNames?: readonly string[]; readonly dnsZones?: readonly string[] };
}

/**
 * The site issuer's solvers, in order: DNS-01 for every name in `dnsZones` (so the wildcard
 * `*.<domain>` and `<domain>` when the zones cover the domain), then HTTP-01 without a selector for
 * every other name (when `http01`).
 */
export function siteSolvers(opts: { readonly dns01: boolean; readonly dnsZones: readonly string[]; readonly http01: boolean }): SolverChoice[] {
  return [...(opts.dns01 ? [{ type: 'dns01' as const, selector: { dnsZones: opts.dnsZones } }] : []), ...(opts.http01 ? [{ type: 'http01' as const }] : [])];
}

/**
 * The solver cert-manager picks for one certificate name (`*.example.com` for a wildcard), following
 * its documented precedence: a `dnsNames` match beats a `dnsZones` match, the longest matching zone
 * wins, a solver without selector is the fallback, and ties go to the earlier solver. Selectors with
 * only `matchLabels` are not modelled (the site's certificates carry no labels). Index, or undefined.
 */
export function selectSolver(name: string, solvers: readonly SolverChoice[]): number | undefined {
  let best: { index: number; rank: number } | undefined;
  solvers.forEach((s, index) => {
    const sel = s.selector;
    let rank = -1;
    if (!sel || ((sel.dnsNames ?? []).length === 0 && (sel.dnsZones ?? []).length === 0)) rank = 0;
    else if ((sel.dnsNames ?? []).includes(name)) rank = 1_000;
    else {
      const zone = (sel.dnsZones ?? []).filter((z) => name === z || name.endsWith(`.${z}`)).sort((a, b) => b.length - a.length)[0];
      if (zone !== undefined) rank = 1 + zone.length;
    }
    if (rank >= 0 && (best === undefined || rank > best.rank)) best = { index, rank };
  });
  return best?.index;
}

/** The TXT record a DNS-01 challenge for `name` is published at (the same for `x` and `*.x`). */
export function challengeRecord(name: string): string {
  return `_acme-challenge.${name.replace(/^\*\./, '')}`;
}

/** A TSIG key as `tsig-keygen` writes it (`key "name" { algorithm …; secret "…"; };`), or only its base64 secret. */
export interface TsigKey {
  readonly name?: string;
  /** BIND spelling, e.g. `hmac-sha256`. */
  readonly algorithm?: string;
  /** Base64, what cert-manager's `tsigSecretSecretRef` must hold. */
  readonly secret: string;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Parses the `flotilla:tsigKey` stack secret; undefined when it is neither form. */
export function parseTsigKey(text: string): TsigKey | undefined {
  const t = text.trim();
  if (BASE64.test(t) && t.length % 4 === 0 && t.length >= 8) return { secret: t };
  const m = /^key\s+"?([^"\s{]+)"?\s*\{([^}]*)\}\s*;?$/s.exec(t);
  if (!m) return undefined;
  const secret = /\bsecret\s+"([^"]+)"\s*;/.exec(m[2]!)?.[1];
  if (secret === undefined || !BASE64.test(secret)) return undefined;
  const algorithm = /\balgorithm\s+"?([\w.-]+?)"?\s*;/.exec(m[2]!)?.[1]?.toLowerCase();
  return { name: m[1]!.replace(/\.$/, ''), ...(algorithm ? { algorithm } : {}), secret };
}

/** The base64 secret of a `flotilla:tsigKey` value (what cert-manager's TSIG Secret holds). */
export const tsigSecretOf = (text: string): string | undefined => parseTsigKey(text)?.secret;

/**
 * What is wrong with a TSIG key for a solver that signs as `keyName` with `algorithm` (messages
 * name the setting and never the secret). Empty when the key fits.
 */
export function tsigKeyProblems(text: string, keyName: string, algorithm: TsigAlgorithm): string[] {
  const key = parseTsigKey(text);
  if (!key) return ['is neither a tsig-keygen key file nor a base64 TSIG secret: run `tsig-keygen -a hmac-sha256 NAME | pulumi config set --secret flotilla:tsigKey`'];
  const out: string[] = [];
  if (key.name !== undefined && key.name !== keyName.replace(/\.$/, '')) {
    out.push(`names key ${JSON.stringify(key.name)} but spec.certificates.dns01.rfc2136.tsigKeyName is ${JSON.stringify(keyName)}: use the same name in both`);
  }
  const bind = BIND_TSIG_ALGORITHM[algorithm];
  if (key.algorithm !== undefined && key.algorithm !== bind) {
    out.push(`uses ${key.algorithm} but spec.certificates.dns01.rfc2136.tsigAlgorithm is ${algorithm} (${bind}): make them agree`);
  }
  return out;
}
