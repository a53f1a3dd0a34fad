// With front hosts (spec.front), the synthesized Federation drives exactly the runtime APIs the front
// hosts' rendered HAProxy configs serve (TCP, mutual TLS), with the client certificate files where the
// synthesized Deployment mounts them; without front hosts it keeps the single front's admin socket.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { parseFederation } from '../../cluster-mgr/config/index';
import { CLUSTER_MGR_FRONT_CLIENT_CERT, CLUSTER_MGR_FRONT_TLS } from '../../infra/lib/cluster-mgr-rbac';
import { FILLABLE_BY_SECRET, FILLABLE_KEYS } from '../../infra/pulumi/plan';
import { formatError } from '../../infra/site/document';
import { parseSite, type Site } from '../../infra/site/index';
import { DEFAULT_FRONT_SOCKET, renderFrontHostHaproxy } from '../../infra/render/index';
import { federationConfigYaml, synthesizeSite } from '../../infra/synth/index';

function site(text: string): Site {
  const r = parseSite(text, 'site.yaml');
  if (!r.ok) throw new Error(r.errors.map(formatError).join('\n'));
  return r.value;
}

function haproxyOf(s: Site) {
  const fed = parseFederation(federationConfigYaml(s), 'federation.yaml');
  if (!fed.ok) throw new Error(fed.errors.map(formatError).join('\n'));
  return fed.value.spec.traffic?.haproxy;
}

const sh1Text = readFileSync('examples/sh1.yaml', 'utf8');

describe('the Federation reaches the front it is synthesized with', () => {
  it('examples/sh1.yaml (two front hosts): one TCP address per host, each the bind of that host\'s runtime API with client verification', () => {
    const sh1 = site(sh1Text);
    const hp = haproxyOf(sh1)!;
    expect(hp.socket).toBeUndefined();
    const hosts = sh1.spec.front!.hosts;
    expect(hp.addresses).toHaveLength(hosts.length);
    hosts.forEach((h, i) => {
      const cfg = renderFrontHostHaproxy(sh1, h.name);
      const bind = new RegExp(`^\\s*bind (\\S+) ssl crt \\S+ ca-file \\S+ verify required$`, 'm').exec(cfg);
      expect(bind, `${h.name}: runtime API bind`).not.toBeNull();
      expect(hp.addresses![i]).toBe(bind![1]);
    });
    // by default the runtime API admits cluster-mgr's pods (every pod CIDR) and the ops host, which drives it too
    const sources = [...sh1.spec.clusters.map((c) => c.network!.podCIDR), `${sh1.spec.federation.opsHost!.address}/32`];
    for (const h of hosts) expect(renderFrontHostHaproxy(sh1, h.name)).toContain(`tcp-request connection reject unless { src ${sources.join(' ')} }`);
    const t = CLUSTER_MGR_FRONT_TLS;
    expect(hp.tls).toEqual({ caFile: `${t.dir}/${t.ca}`, certFile: `${t.dir}/${t.cert}`, keyFile: `${t.dir}/${t.key}` });
  });

  it('the synthesized Deployment mounts the client certificate Secret where the config reads it (optional: unreachable until it exists)', () => {
    const out = synthesizeSite(site(sh1Text));
    const objs = out.clusters.flatMap((c) => c.components).filter((m) => m.component === 'federation').flatMap((m) => m.objects);
    const deploy = objs.find((o) => o.kind === 'Deployment') as unknown as { spec: { template: { spec: { containers: { volumeMounts: { name: string; mountPath: string }[] }[]; volumes: { name: string; secret?: { secretName: string; optional?: boolean } }[] } } } };
    expect(deploy).toBeDefined();
    const pod = deploy.spec.template.spec;
    const mount = pod.containers[0]!.volumeMounts.find((m) => m.mountPath === CLUSTER_MGR_FRONT_TLS.dir);
    expect(mount).toBeDefined();
    expect(pod.volumes.find((v) => v.name === mount!.name)?.secret).toEqual({ secretName: CLUSTER_MGR_FRONT_TLS.secret, optional: true });
  });

  it('cert-manager writes that Secret: a Certificate (CN = clientName, client auth, ECDSA P-256) from a CA Issuer backed by the filled site-CA Secret; its keys are the config\'s files', () => {
    const sh1 = site(sh1Text.replace('clientName: cluster-mgr', 'clientName: cm-sh1'));
    const out = synthesizeSite(sh1);
    const objs = out.clusters.flatMap((c) => c.components).filter((m) => m.component === 'federation').flatMap((m) => m.objects);
    const certs = objs.filter((o) => o.kind === 'Certificate');
    expect(certs).toHaveLength(1);
    const cert = certs[0]! as unknown as { metadata: { namespace: string }; spec: { secretName: string; commonName: string; usages: string[]; privateKey: { algorithm: string; size: number }; issuerRef: { name: string; kind: string; group: string } } };
    const deploy = objs.find((o) => o.kind === 'Deployment')!;
    expect(cert.metadata.namespace).toBe(deploy.metadata.namespace);
    // the Secret the Deployment mounts at the folder the config reads
    const pod = (deploy as unknown as { spec: { template: { spec: { containers: { volumeMounts: { name: string; mountPath: string }[] }[]; volumes: { name: string; secret?: { secretName: string } }[] } } } }).spec.template.spec;
    const mount = pod.containers[0]!.volumeMounts.find((m) => m.mountPath === CLUSTER_MGR_FRONT_TLS.dir)!;
    expect(pod.volumes.find((v) => v.name === mount.name)?.secret?.secretName).toBe(cert.spec.secretName);
    // cert-manager's kubernetes.io/tls Secret keys (ca.crt, tls.crt, tls.key) are the config's files in that folder
    const tls = haproxyOf(sh1)!.tls!;
    expect([tls.caFile, tls.certFile, tls.keyFile]).toEqual(['ca.crt', 'tls.crt', 'tls.key'].map((k) => `${mount.mountPath}/${k}`));
    expect(cert.spec.commonName).toBe('cm-sh1');
    expect(renderFrontHostHaproxy(sh1, sh1.spec.front!.hosts[0]!.name)).toContain('ssl_c_s_dn(CN) -m str cm-sh1');
    expect(cert.spec.usages).toContain('client auth');
    expect(cert.spec.privateKey).toMatchObject({ algorithm: 'ECDSA', size: 256 });
    // signed by a namespaced CA Issuer whose key pair is the placeholder the Pulumi program fills with the site CA
    expect(cert.spec.issuerRef).toEqual({ name: CLUSTER_MGR_FRONT_CLIENT_CERT.issuer, kind: 'Issuer', group: 'cert-manager.io' });
    const issuer = objs.find((o) => o.kind === 'Issuer' && o.metadata.name === cert.spec.issuerRef.name)!;
    expect(issuer.metadata.namespace).toBe(cert.metadata.namespace);
    // applied after the Issuer within the group (Pulumi's ConfigGroup reads config.kubernetes.io/depends-on)
    expect((cert.metadata as { annotations?: Record<string, string> }).annotations?.['config.kubernetes.io/depends-on']).toBe(`cert-manager.io/namespaces/${issuer.metadata.namespace}/Issuer/${issuer.metadata.name}`);
    const caSecret = (issuer.spec as { ca: { secretName: string } }).ca.secretName;
    const placeholder = objs.find((o) => o.kind === 'Secret' && o.metadata.name === caSecret)!;
    expect((placeholder.metadata.annotations as Record<string, string>)['flotilla.dev/filled-by']).toMatch(/flotilla:caCert, flotilla:caKey/);
    expect(Object.keys(placeholder.stringData as object).sort()).toEqual(['tls.crt', 'tls.key']);
    expect([FILLABLE_BY_SECRET[caSecret]?.['tls.crt'], FILLABLE_BY_SECRET[caSecret]?.['tls.key']]).toEqual(['caCert', 'caKey']);
    // only that Secret: tls keys are not fillable in general (no other placeholder gets the CA key)
    expect([FILLABLE_KEYS['tls.crt'], FILLABLE_KEYS['tls.key']]).toEqual([undefined, undefined]);
    // never the site ClusterIssuer (ACME here: it cannot sign client certificates)
    expect(objs.some((o) => o.kind === 'ClusterIssuer')).toBe(false);
  });

  it('without spec.front: the single front\'s admin socket, and no front-tls mount', () => {
    const plain = site(sh1Text.replace(/^ {2}front:[\s\S]*?(?=^ {2}federation:)/m, ''));
    expect(plain.spec.front).toBeUndefined();
    const hp = haproxyOf(plain)!;
    expect(hp.socket).toBe(DEFAULT_FRONT_SOCKET);
    expect(hp.addresses).toBeUndefined();
    expect(parse(federationConfigYaml(plain))).not.toHaveProperty('spec.traffic.haproxy.tls');
    const objs = synthesizeSite(plain).clusters.flatMap((c) => c.components).filter((m) => m.component === 'federation').flatMap((m) => m.objects);
    expect(objs.filter((o) => ['Certificate', 'Issuer'].includes(o.kind) || o.metadata.name === CLUSTER_MGR_FRONT_CLIENT_CERT.caSecret)).toEqual([]);
  });
});
