// cluster-mgr's client certificate for the front hosts' runtime API, for real: a certificate shaped
// exactly like the synthesized cert-manager Certificate (its CN, usages and key type read from the
// synthesized object, issued from the site CA by the project's own issuing code — the one `flotilla
// install` uses for the ops host) is accepted by a real HAProxy running the rendered front config
// (server certificate from the same CA, client-ca.pem = the site CA, as install writes them); the same
// shape with another CN, from another CA, or without the client-auth usage is refused. The files are
// laid out as cert-manager's Secret keys (ca.crt, tls.crt, tls.key) at the paths the synthesized
// Federation reads. cert-manager itself does not run here: what it would sign is reproduced from the
// Certificate's spec, which test/synth/front-runtime-api.test.ts ties to the config and the mount.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CLUSTER_MGR_FRONT_TLS } from '../../infra/lib/cluster-mgr-rbac';
import { renderFrontHostHaproxy } from '../../infra/render/index';
import { federationConfigYaml, synthesizeSite } from '../../infra/synth/index';
import { issueCertificate, issueClientCertificate, type ClientCertificateShape, type SiteCa } from '../../scripts/delivery/bootstrap';
import { makeDir, requireTools, run, startDaemon, waitFor, type LabHost } from '../lab/index';
import { labBase, labCluster, makeSite, withLab } from './helpers';

function makeCa(dir: string, name: string): SiteCa {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`), '-days', '2', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], { stdio: ['ignore', 'ignore', 'pipe'] });
  return { cert: readFileSync(join(dir, `${name}.crt`), 'utf8'), key: readFileSync(join(dir, `${name}.key`), 'utf8') };
}

describe("the runtime API accepts exactly the client certificate cert-manager is asked for", () => {
  it('accepted: the synthesized shape from the site CA; refused: another CN, another CA, no client-auth usage', async (ctx) => {
    requireTools(ctx, ['ip', 'haproxy', 'openssl', 'curl'], { root: true });
    await withLab(async ({ lab, daemons, dirs }) => {
      // the front host and cluster-mgr's side (an allowed source)
      const [f1, cm] = [await lab.addHost('f1', 1), await lab.addHost('cm', 2)];
      const site = makeSite((spec) => {
        const base = labBase(f1.address);
        spec.clusters = [labCluster('lab-a', base, 0, { vips: [{ name: 'ingress', address: `${base}.50/24`, interface: 'eth0', virtualRouterId: 51, ports: [80] }] })];
        spec.front = {
          hosts: [{ name: 'front-1', address: f1.address }],
          vip: { address: `${base}.100/24`, interface: 'eth0', virtualRouterId: 70 },
          runtimeApi: { port: 9999, allowedSources: [`${cm.address}/32`], clientName: 'cm-lab' },
        };
      });
      const dir = makeDir('front-client-cert');
      dirs.push(dir);

      // What synthesis asks cert-manager for, and where the synthesized Federation reads the result.
      const objs = synthesizeSite(site).clusters.flatMap((c) => c.components).flatMap((m) => m.objects);
      const cert = objs.find((o) => o.kind === 'Certificate' && o.metadata.name === CLUSTER_MGR_FRONT_TLS.secret);
      expect(cert, 'the synthesized Certificate').toBeDefined();
      const spec = cert!.spec as { commonName: string; usages: string[]; privateKey: { algorithm: string; size: number } };
      const shape: ClientCertificateShape = { commonName: spec.commonName, usages: spec.usages, privateKey: spec.privateKey };
      const tls = (parse(federationConfigYaml(site)) as { spec: { traffic: { haproxy: { tls: { caFile: string; certFile: string; keyFile: string } } } } }).spec.traffic.haproxy.tls;

      // The front host as `flotilla install --ca-cert/--ca-key` sets it up: server certificate from the site CA, client-ca.pem = the site CA.
      const siteCa = makeCa(dir, 'site-ca');
      const otherCa = makeCa(dir, 'other-ca');
      const server = await issueCertificate('front-1', f1.address, 'lab', siteCa, 'the runtime API certificate');
      writeFileSync(join(dir, 'server.pem'), `${server.cert.trimEnd()}\n${server.key.trimEnd()}\n`);
      writeFileSync(join(dir, 'client-ca.pem'), siteCa.cert);
      const cfg = join(dir, 'front.cfg');
      writeFileSync(cfg, renderFrontHostHaproxy(site, 'front-1', { socketPath: join(dir, 'admin.sock'), certFile: join(dir, 'server.pem'), clientCaFile: join(dir, 'client-ca.pem') }));
      const check = await run('haproxy', ['-c', '-f', cfg]);
      expect(check.code, check.stdout + check.stderr).toBe(0);
      daemons.push(startDaemon({ name: 'haproxy-front-1', netns: f1.netns, command: 'haproxy', args: ['-db', '-f', cfg] }));
      await waitFor(async () => ((await f1.exec('curl', ['-sf', '-m', '1', 'http://127.0.0.1:8405/healthz'])).code === 0 ? true : undefined), { timeoutMs: 15_000, what: 'front-1 HAProxy' });

      /** cert-manager's Secret as files (ca.crt, tls.crt, tls.key) at the config's paths, below `dir/name`. */
      const secretFiles = (name: string, files: { caCert: string; cert: string; key: string }) => {
        const at = (p: string) => join(dir, name, p);
        mkdirSync(at(CLUSTER_MGR_FRONT_TLS.dir), { recursive: true });
        writeFileSync(at(tls.caFile), files.caCert);
        writeFileSync(at(tls.certFile), files.cert);
        writeFileSync(at(tls.keyFile), files.key);
        return { ca: at(tls.caFile), cert: at(tls.certFile), key: at(tls.keyFile) };
      };
      const ask = async (host: LabHost, f: { ca: string; cert: string; key: string }, command: string) =>
        (await host.exec('sh', ['-c', `printf '${command}\\n' | timeout 10 openssl s_client -quiet -verify_return_error -connect ${f1.address}:9999 -cert ${f.cert} -key ${f.key} -CAfile ${f.ca} 2>/dev/null`])).stdout;

      // accepted: the synthesized shape from the site CA; HAProxy answers runtime API commands
      const good = secretFiles('good', await issueClientCertificate(shape, siteCa, 2));
      const subject = execFileSync('openssl', ['x509', '-in', good.cert, '-noout', '-subject', '-ext', 'keyUsage,extendedKeyUsage'], { encoding: 'utf8' });
      expect(subject).toMatch(/subject=CN\s*=\s*cm-lab/);
      expect(subject).toMatch(/TLS Web Client Authentication/);
      expect(execFileSync('openssl', ['pkey', '-in', good.key, '-noout', '-text'], { encoding: 'utf8' })).toMatch(/ASN1 OID: prime256v1/);
      expect(await ask(cm, good, 'show info')).toMatch(/^Name: HAProxy$/m);
      expect(await ask(cm, good, 'show servers state web')).toMatch(/^\d+ web \d+ lab-a /m);

      // refused: another CN, another CA, and the right CN and CA without the client-auth usage
      const cases: [string, Promise<{ caCert: string; cert: string; key: string }>][] = [
        ['another CN', issueClientCertificate({ ...shape, commonName: 'intruder' }, siteCa, 2)],
        ['another CA', issueClientCertificate(shape, otherCa, 2)],
        ['server auth only', issueClientCertificate({ ...shape, usages: shape.usages.map((u) => (u === 'client auth' ? 'server auth' : u)) }, siteCa, 2)],
      ];
      for (const [name, files] of cases) {
        const f = secretFiles(name.replaceAll(' ', '-'), { ...(await files), caCert: siteCa.cert });
        expect(await ask(cm, f, 'show info'), name).not.toMatch(/Name: HAProxy/);
      }
      // and the accepted one still is (the refusals did not depend on timing)
      expect(await ask(cm, good, 'show info')).toMatch(/^Name: HAProxy$/m);
    });
  }, 120_000);
});
