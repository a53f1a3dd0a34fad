// CertManagerIssuers: the site's ClusterIssuer — ACME, or for air-gapped sites a private CA
// (self-signed issuer → CA certificate → CA ClusterIssuer) — and the wildcard certificate for the
// site domain, placed where the ingress gateway reads it.
import { Construct } from 'constructs';
import { checkDnsName, checkLabel, checkLabels, PropError } from './common';
import { Certificate, CertificateSpecPrivateKeyAlgorithm, ClusterIssuer } from './imports/cert-manager.io';

const NAME = 'CertManagerIssuers';

/** RFC 2136 dynamic DNS updates for ACME DNS-01 (needed for the wildcard certificate). */
export interface Rfc2136Solver {
  /** `host:port` of the authoritative server accepting updates. */
  readonly nameserver: string;
  readonly tsigKeyName: string;
  /** Secret (in cert-manager's namespace) holding the TSIG key under `key`. */
  readonly tsigSecretName: string;
  /** @default - 'HMACSHA256' */
  readonly tsigAlgorithm?: string;
}

/** Which kind of issuer signs the site's certificates. */
export class SiteIssuer {
  /**
   * An ACME issuer: HTTP-01 through the Istio ingress gateway for names, and DNS-01 over RFC 2136
   * for the site domain when `dns01` is given (ACME issues wildcards only over DNS-01).
   * @param server @default - Let's Encrypt production
   * @param dns01 @default - HTTP-01 only (the wildcard certificate cannot be issued)
   */
  static acme(opts: { email: string; server?: string; dns01?: Rfc2136Solver }): SiteIssuer {
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(opts.email)) throw new PropError(NAME, 'issuer.email', opts.email, 'an email address for the ACME account');
    const server = opts.server ?? 'https://acme-v02.api.letsencrypt.org/directory';
    if (!/^https:\/\//.test(server)) throw new PropError(NAME, 'issuer.server', server, 'an https:// ACME directory URL');
    if (opts.dns01) {
      if (!/^[^\s:]+:\d{1,5}$/.test(opts.dns01.nameserver)) throw new PropError(NAME, 'issuer.dns01.nameserver', opts.dns01.nameserver, 'host:port of the DNS server, e.g. "10.10.0.53:53"');
      if (!opts.dns01.tsigKeyName) throw new PropError(NAME, 'issuer.dns01.tsigKeyName', opts.dns01.tsigKeyName, 'the TSIG key name');
      checkLabel(NAME, 'issuer.dns01.tsigSecretName', opts.dns01.tsigSecretName);
    }
    return new SiteIssuer('acme', opts.email, server, opts.dns01);
  }
  /** A private CA made inside the cluster (air-gapped sites; distribute its root to clients). */
  static privateCa(): SiteIssuer {
    return new SiteIssuer('ca', '', '', undefined);
  }
  private constructor(
    readonly kind: 'acme' | 'ca',
    readonly email: string,
    readonly server: string,
    readonly dns01: Rfc2136Solver | undefined,
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

    if (props.issuer.kind === 'acme') {
      new ClusterIssuer(this, 'Resource', {
        metadata: { name: this.issuerName },
        spec: {
          acme: {
            email: props.issuer.email,
            server: props.issuer.server,
            privateKeySecretRef: { name: `${this.issuerName}-account-key` },
            solvers: [
              ...(props.issuer.dns01
                ? [
                    {
                      selector: { dnsZones: [props.domain] },
                      dns01: {
                        rfc2136: {
                          nameserver: props.issuer.dns01.nameserver,
                          tsigKeyName: props.issuer.dns01.tsigKeyName,
                          tsigAlgorithm: props.issuer.dns01.tsigAlgorithm ?? 'HMACSHA256',
                          tsigSecretSecretRef: { name: props.issuer.dns01.tsigSecretName, key: 'key' },
                        },
                      },
                    },
                  ]
                : []),
              { http01: { ingress: { ingressClassName: 'istio' } } },
            ],
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
        dnsNames: [props.domain, `*.${props.domain}`],
        duration: '2160h',
        renewBefore: '720h',
        issuerRef: { name: this.issuerName, kind: 'ClusterIssuer', group: 'cert-manager.io' },
      },
    });
  }
}
