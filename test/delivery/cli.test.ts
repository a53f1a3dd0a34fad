// Bad input to the delivery commands: exit 2 with one clean line naming the option or field, no stack.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeDir } from '../lab/index';
import { flotilla, writeInventory, writeKeys, writeSynthTree } from './fixtures';
import { rmSync } from 'node:fs';

describe('delivery commands reject bad input with exit 2', () => {
  const dir = makeDir('delivery-cli');
  const inv = writeInventory(dir);
  const keys = writeKeys(dir);
  const broken = join(dir, 'broken.yaml');
  writeFileSync(broken, 'apiVersion: flotilla.dev/v1alpha1\nkind: Site\nmetadata: { name: Bad_Name }\n');
  const airgapped = join(dir, 'synth-airgapped');
  writeSynthTree(airgapped, 'lab', { images: ['registry.lab.example.com/tigera/operator:v1.34.0'], charts: [], nodes: [], registryHost: 'registry.lab.example.com' });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['invalid inventory', ['preflight', broken], /broken\.yaml:\d+:\d+ metadata\.name: "Bad_Name" is not a DNS-1123 label/],
    ['missing SSH key file', ['preflight', inv], /spec\.ssh\.privateKeyFile "\.\/id_ed25519": cannot read .*id_ed25519 \(ENOENT\)/],
    ['bad --format', ['preflight', inv, '--format', 'xml'], /--format "xml": .*"human"\|"json"/],
    ['bundle without --signing-key', ['bundle', inv, '--out', join(dir, 'b')], /--signing-key: required: an ed25519 private key/],
    ['signing key is not ed25519-PEM', ['bundle', inv, '--out', join(dir, 'b'), '--signing-key', inv], /--signing-key .*site\.yaml: /],
    ['synth dir without the site', ['bundle', inv, '--out', join(dir, 'b'), '--signing-key', keys.priv, '--synth-dir', dir], /--synth-dir .*: neither .*\/lab nor a site folder/],
    ['air-gapped synth output', ['bundle', inv, '--out', join(dir, 'b'), '--signing-key', keys.priv, '--synth-dir', airgapped], /images\.txt references the site registry \(registry\.lab\.example\.com\/tigera\/operator:v1\.34\.0\)/],
    ['bad --registry-endpoint', ['bundle', inv, '--out', join(dir, 'b'), '--signing-key', keys.priv, '--registry-endpoint', 'registry'], /--registry-endpoint "registry" is not HOST=URL/],
    ['verify without --public-key', ['bundle', 'verify', dir], /--public-key: required/],
    ['install with a missing public key file', ['install', inv, '--bundle', dir, '--public-key', join(dir, 'nope.pem'), '--no-hosts'], /--public-key .*nope\.pem: ENOENT/],
    ['install relative --host-root', ['install', inv, '--bundle', dir, '--public-key', keys.pub, '--host-root', 'x'], /--host-root "x": must be an absolute path/],
    ['sync without mirrors', ['registry', 'sync', inv, '--status', join(dir, 's.json')], /spec\.registry\.mirrors is empty/],
    ['check with a bad backup spec', ['check', inv, '--no-tls', '--backup', 'lab-m1:relative:1h'], /--backup "lab-m1:relative:1h" is not NODE:\/PATH:MAXAGE/],
    ['unknown option', ['preflight', inv, '--frobnicate'], /unknown option/],
  ])('%s', async (_name, args, message) => {
    const r = await flotilla(args);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('bundle verify of a folder that is not a bundle is a verify failure (exit 1) naming bundle.json', async () => {
    const r = await flotilla(['bundle', 'verify', dir, '--public-key', keys.pub]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('bundle.json: missing');
  });
});
