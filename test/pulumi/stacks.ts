// Shared setup of the mocked stack tests and the bench: stack files, fixture secrets, bundles.
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { parseSite, type Site } from '../../infra/site/index';
import type { ProgramDeps } from '../../infra/pulumi/program';
import { stackConfig } from './harness';

export const STACKS = readdirSync('stacks')
  .filter((f) => /^Pulumi\..+\.yaml$/.test(f))
  .map((f) => f.slice('Pulumi.'.length, -'.yaml'.length))
  .sort();

/** Distinctive fixture secret values: they must never appear outside a Pulumi secret. */
export const SECRET_VALUES = {
  cephKey: 'AQD-fixture-ceph-key-0001==',
  registryPassword: 'fixture-registry-password-0002',
  tsigKey: 'Zml4dHVyZS10c2lnLWtleS0wMDAz', // base64 of fixture-tsig-key-0003: a bare TSIG secret
  caKey: '-----BEGIN EC PRIVATE KEY-----\nfixture-ca-key-0004\n-----END EC PRIVATE KEY-----',
  sshPrivateKey: '-----BEGIN OPENSSH PRIVATE KEY-----\nfixture-ssh-key-0005\n-----END OPENSSH PRIVATE KEY-----',
  smtpPassword: 'fixture-smtp-password-0006',
};
export const kubeconfigFor = (cluster: string) => `apiVersion: v1\nkind: Config\n# fixture-kubeconfig-${cluster}\n`;

export function stackFile(stack: string): string {
  return join('stacks', `Pulumi.${stack}.yaml`);
}

export function stackSite(stack: string): Site {
  const cfg = (parse(readFileSync(stackFile(stack), 'utf8')) as { config: Record<string, string> }).config;
  const file = cfg['flotilla:inventory']!;
  const r = parseSite(readFileSync(file, 'utf8'), file);
  if (!r.ok) throw new Error(`${file} invalid`);
  return r.value;
}

/** A bundle directory with an (empty) archive for every chart the deps produce for the site. */
export function makeBundle(site: Site, deps: ProgramDeps): string {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-bundle-'));
  mkdirSync(join(dir, 'charts'));
  for (const c of site.spec.clusters) {
    for (const r of deps.synthesizeCluster(site, c, { airGapped: true }).charts) writeFileSync(join(dir, 'charts', `${r.chart}-${r.version}.tgz`), '');
  }
  return dir;
}

/**
 * Runtime config for a stack file: fixture secrets for every secure value, kubeconfigs, SSH key; an
 * air-gapped stack gets a fresh bundle directory (the caller removes it) unless `bundle: false`.
 */
export function runtimeConfig(stack: string, deps: ProgramDeps, extra: Record<string, string> = {}, opts: { bundle?: boolean } = {}): { config: Record<string, string>; secretKeys: string[]; bundle?: string } {
  const site = stackSite(stack);
  const kubeconfigs = JSON.stringify(Object.fromEntries(site.spec.clusters.map((c) => [c.name, kubeconfigFor(c.name)])));
  const secrets: Record<string, string> = {
    'flotilla:kubeconfigs': kubeconfigs,
    'flotilla:sshPrivateKey': SECRET_VALUES.sshPrivateKey,
    ...Object.fromEntries(Object.entries(SECRET_VALUES).filter(([k]) => k !== 'sshPrivateKey').map(([k, v]) => [`flotilla:${k}`, v])),
  };
  const raw = stackConfig(stackFile(stack), secrets);
  // Only keep secrets the stack file declares, plus the ones every test run needs to supply.
  const declared = new Set(Object.keys((parse(readFileSync(stackFile(stack), 'utf8')) as { config: Record<string, unknown> }).config));
  const keep = (k: string) => declared.has(k) || k === 'flotilla:kubeconfigs' || k === 'flotilla:sshPrivateKey' || !k.startsWith('flotilla:');
  const config = Object.fromEntries(Object.entries(raw.config).filter(([k]) => keep(k)));
  let bundle: string | undefined;
  if (config['flotilla:bundle'] !== undefined && opts.bundle !== false) {
    bundle = makeBundle(site, deps);
    config['flotilla:bundle'] = bundle;
  }
  return { config: { ...config, ...extra }, secretKeys: raw.secretKeys.filter((k) => keep(k)), bundle };
}
