// CertManagerIssuers: the site's ClusterIssuer — ACME, or for air-gapped sites a private CA
// (self-signed issuer → CA certificate → CA ClusterIssuer) — and the wildcard certificate for the
// site domain, placed where the ingress gateway reads it.
import { Construct } from 'constructs';
import { isDnsName } from '../infra/lib/dns';
import { selectSolver, siteSolvers, TSIG_ALGORITHMS, type TsigAlgorithm } from '../infra/lib/acme';
import { apiObject, checkDnsName, checkLabel, checkLabels, PropError } from './common';
import { Certificate, CertificateSpecPrivateKeyAlgorithm, ClusterIssuer } from './imports/cert-manager.io';

const NAME = 'CertManagerIssuers';

/** Where the RFC 2136 solver's TSIG secret comes from. */
export interface TsigSecretRef {
  /** Secret in cert-manager's namespace. */
  readonly name: string;
  /** Key holding the base64 TSIG secret. */
  readonly key: string;
}

/** Key of the synthesized TSIG Secret; `flotilla:tsigKey` fills it (infra/pulumi/plan.ts FILLABLE_KEYS). */
export const TSIG_SECRET_KEY = 'tsig-secret';

/** How ACME DNS-01 challenges are answered (ACME issues wildcard names only over DNS-01). */
export class Dns01Solver {
  /**
   * RFC 2136 dynamic updates signed with TSIG against the site DNS.
   * @param tsigAlgorithm @default - 'HMACSHA256'
   * @param tsigSecret @default - a Secret `<issuerName>-tsig` synthesized here as a placeholder and
   *   filled from the stack secret `flotilla:tsigKey` (its value never appears in output)
   */
  static rfc2136(opts: { nameserver: string; tsigKeyName: string; tsigAlgorithm?: TsigAlgorithm; tsigSecret?: TsigSecretRef }): Dns01Solver {
    if (!/^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):\d{1,5}$/.test(opts.nameserver)) throw new PropError(NAME, 'issuer.dns01.nameserver', opts.nameserver, 'host:port of the DNS server, e.g. "10.10.0.53:53"');
    if (!isDnsName(opts.tsigKeyName.replace(/\.$/, ''))) throw new PropError(NAME, 'issuer.dns01.tsigKeyName', opts.tsigKeyName, 'the TSIG key name, a DNS name such as "acme-update"');
    const algorithm = opts.tsigAlgorithm ?? 'HMACSHA256';
    if (!TSIG_ALGORITHMS.includes(algorithm)) throw new PropError(NAME, 'issuer.dns01.tsigAlgorithm', algorithm, `one of ${TSIG_ALGORITHMS.join(', ')}`);
    if (opts.tsigSecret) {
      checkLabel(NAME, 'issuer.dns01.tsigSecret.name', opts.tsigSecret.name);
      if (!/^[-._a-zA-Z0-9]+$/.test(opts.tsigSecret.key)) throw new PropError(NAME, 'issuer.dns01.tsigSecret.key', opts.tsigSecret.key, 'a Secret data key');
    }
    return new Dns01Solver({ rfc2136: { nameserver: opts.nameserver, tsigKeyName: opts.tsigKeyName, tsigAlgorithm: algorithm, tsigSecret: opts.tsigSecret } });
  }
  /** A cert-manager DNS-01 webhook (installed separately); `config` is passed on as-is. */
  static webhook(opts: { groupName: string; solverName: string; config?: Readonly<Record<string, unknown>> }): Dns01Solver {
    checkDnsName(NAME, 'issuer.dns01.groupName', opts.groupName);
    if (!opts.solverName) throw new PropError(NAME, 'issuer.dns01.solverName', opts.solverName, 'the solver name inside the webhook');
    return new Dns01Solver({ webhook: { groupName: opts.groupName, solverName: opts.solverName, ...(opts.config ? { config: opts.config } : {}) } });
  }
  private constructor(
    readonly options:
      | { readonly rfc2136: { readonly nameserver: string; readonly tsigKeyName: string; readonly tsigAlgorithm: TsigAlgorithm; readonly tsigSecret: TsigSecretRef | undefined }; readonly webhook?: undefined }
      | { readonly webhook: { readonly groupName: string; readonly solverName: string; readonly config?: Readonly<Record<string, unknown>> }; readonly rfc2136?: undefined },
  ) {}
}

/** Which kind of issuer signs the site's certificates. */
export class SiteIssuer {
  /**
   * An ACME issuer: DNS-01 for the names in `dnsZones` (the wildcard included) and HTTP-01 through
   * the Istio ingress gateway for other names.
   * @param server @default - Let's Encrypt production
   * @param dns01 @default - none; then the wildcard certificate is refused at construction (ACME
   *   issues wildcards only over DNS-01)
   * @param dnsZones @default - [domain]
   * @param http01 @default - true
   */
  static acme(opts: { email: string; server?: string; dns01?: Dns01Solver; dnsZones?: readonly string[]; http01?: boolean }): SiteIssuer {
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(opts.email)) throw new PropError(NAME, 'issuer.email', opts.email, 'an email address for the ACME account');
    const server = opts.server ?? 'https://acme-v02.api.letsencrypt.org/directory';
    if (!/^https:\/\//.test(server)) throw new PropError(NAME, 'issuer.server', server, 'an https:// ACME directory URL');
    (opts.dnsZones ?? []).forEach((z, i) => checkDnsName(NAME, `issuer.dnsZones[${i}]`, z));
    return new SiteIssuer('acme', opts.email, server, opts.dns01, opts.dnsZones, opts.http01 ?? true);
  }
  /** A private CA made inside the cluster (air-gapped sites; distribute its root to clients). */
  static privateCa(): SiteIssuer {
    return new SiteIssuer('ca', '', '', undefined, undefined, false);
  }
  private constructor(
    readonly kind: 'acme' | 'ca',
    readonly email: string,
    readonly server: string,
    readonly dns01: Dns01Solver | undefined,
    readonly dnsZones: readonly string[] | undefined,
    readonly http01: boolean,
  ) {}
}

export interface CertManagerIssuersProps {
  /** The site domain; the wildcard certificate covers `<domain>` and `*.<domain>`. */
  readonly domain: string;
  readonly issuer: SiteIssuer;
  /**
   * Name of the site ClusterIssuer.
   * @default - 'site-issuer'
   */
  readonly issuerName?: string;
  /**
   * Namespace of the wildcard certificate's Secret (the ingress gateway's namespace).
   * @default - 'istio-ingress'
   */
  readonly certificateNamespace?: string;
  /**
   * Secret name of the wildcard certificate.
   * @default - 'site-wildcard-tls'
   */
  readonly secretName?: string;
  /**
   * cert-manager's namespace (where the private CA's secret lives).
   * @default - 'cert-manager'
   */
  readonly namespace?: string;
}

export class CertManagerIssuers extends Construct {
  readonly issuerName: string;
  readonly secretName: string;

  constructor(scope: Construct, id: string, props: CertManagerIssuersProps) {
    super(scope, id);
    checkDnsName(NAME, 'domain', props.domain);
    this.issuerName = props.issuerName ?? 'site-issuer';
    this.secretName = props.secretName ?? 'site-wildcard-tls';
    const certNs = props.certificateNamespace ?? 'istio-ingress';
    const ns = props.namespace ?? 'cert-manager';
    checkLabels(NAME, { issuerName: this.issuerName, secretName: this.secretName, certificateNamespace: certNs, namespace: ns });

    const wildcardNames = [props.domain, `*.${props.domain}`];
    if (props.issuer.kind === 'acme') {
      const issuer = props.issuer;
      const dnsZones = issuer.dnsZones ?? [props.domain];
      const choices = siteSolvers({ dns01: issuer.dns01 !== undefined, dnsZones, http01: issuer.http01 });
      for (const name of wildcardNames) {
        const i = selectSolver(name, choices);
        const type = i === undefined ? undefined : choices[i]!.type;
        if (type === 'dns01' || (type === 'http01' && !name.startsWith('*.'))) continue;
        throw new PropError(NAME, issuer.dns01 ? 'issuer.dnsZones' : 'issuer.dns01', issuer.dns01 ? dnsZones : undefined, `a DNS-01 solver whose zones cover ${JSON.stringify(name)} (${type === 'http01' ? 'ACME refuses HTTP-01 for wildcard names' : 'no solver would answer it'})`);
      }
      const dns01 = issuer.dns01?.options;
      let tsigRef: TsigSecretRef | undefined;
      if (dns01?.rfc2136) {
        tsigRef = dns01.rfc2136.tsigSecret ?? { name: `${this.issuerName}-tsig`, key: TSIG_SECRET_KEY };
        if (!dns01.rfc2136.tsigSecret) {
          // Shape only: the Pulumi program fills the value from flotilla:tsigKey; it never appears in output.
          apiObject(this, 'TsigSecret', {
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: { name: tsigRef.name, namespace: ns, annotations: { 'flotilla.dev/filled-by': 'pulumi (flotilla:tsigKey)' } },
            type: 'Opaque',
            stringData: { [TSIG_SECRET_KEY]: '' },
          });
        }
      }
      const solvers = choices.map((c) =>
        c.type === 'http01'
          ? { http01: { ingress: { ingressClassName: 'istio' } } }
          : {
              selector: { dnsZones: [...(c.selector?.dnsZones ?? [])] },
              dns01: dns01?.rfc2136
                ? {
                    rfc2136: {
                      nameserver: dns01.rfc2136.nameserver,
                      tsigKeyName: dns01.rfc2136.tsigKeyName,
                      tsigAlgorithm: dns01.rfc2136.tsigAlgorithm,
                      tsigSecretSecretRef: tsigRef!,
                    },
                  }
                : { webhook: { ...dns01!.webhook! } },
            },
      );
      new ClusterIssuer(this, 'Resource', {
        metadata: { name: this.issuerName },
        spec: {
          acme: {
            email: issuer.email,
            server: issuer.server,
            privateKeySecretRef: { name: `${this.issuerName}-account-key` },
            solvers,
          },
        },
      });
    } else {
      new ClusterIssuer(this, 'SelfSigned', { metadata: { name: `${this.issuerName}-selfsigned` }, spec: { selfSigned: {} } });
      new Certificate(this, 'RootCa', {
        metadata: { name: `${this.issuerName}-root-ca`, namespace: ns },
        spec: {
          isCa: true,
          commonName: `${props.domain} root CA`,
          secretName: `${this.issuerName}-root-ca`,
          duration: '87600h',
          renewBefore: '720h',
          privateKey: { algorithm: CertificateSpecPrivateKeyAlgorithm.ECDSA, size: 256 },
          issuerRef: { name: `${this.issuerName}-selfsigned`, kind: 'ClusterIssuer', group: 'cert-manager.io' },
        },
      });
      new ClusterIssuer(this, 'Resource', { metadata: { name: this.issuerName }, spec: { ca: { secretName: `${this.issuerName}-root-ca` } } });
    }

    new Certificate(this, 'Wildcard', {
      metadata: { name: 'site-wildcard', namespace: certNs },
      spec: {
        secretName: this.secretName,
        dnsNames: wildcardNames,
        duration: '2160h',
        renewBefore: '720h',
        issuerRef: { name: this.issuerName, kind: 'ClusterIssuer', group: 'cert-manager.io' },
      },
    });
  }
}
