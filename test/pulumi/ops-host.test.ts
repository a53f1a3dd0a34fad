// cluster-mgr's ops host plan (pure): the unit, its config and its credentials (API token env file,
// one kubeconfig per member) with their modes, filled only at deploy time, and a script that never
// prints a secret. The script is also checked by the shell's own parser (`sh -n`).
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLUSTER_MGR_API_TOKEN } from '../../infra/lib/cluster-mgr-rbac';
import { CLUSTER_MGR_PRECHECK, clusterMgrOpsScript, clusterMgrSecretFiles, needsSecrets, planHosts, withSecrets, type HostFile } from '../../infra/pulumi/hosts';
import { renderHostFiles } from '../../infra/render/index';
import { opsHostFiles } from '../../infra/synth/index';
import { stackSite } from './stacks';

const site = stackSite('sh1');
const ops = site.spec.federation.opsHost!;
const members = site.spec.clusters.map((c) => c.name);
const plans = planHosts(site, [...renderHostFiles(site), ...opsHostFiles(site)]);
const plan = plans.find((p) => p.roles.includes('ops'))!;

const TOKEN = 'f00dcafe'.repeat(8);
const KUBECONFIGS = Object.fromEntries(members.map((m) => [m, `apiVersion: v1\nkind: Config\nusers:\n- name: cluster-mgr@${m}\n  user: {token: fixture-member-token-${m}-0123456789}\n`]));
const filled = withSecrets(plan.files, { clusterMgrToken: TOKEN, kubeconfigs: KUBECONFIGS });
// What HostLayer runs: the plan's own script builder over the filled files.
const script = plan.scriptFor(filled);

describe('ops host plan (spec.federation.opsHost)', () => {
  it('is a site-level host of its own, at the inventory address', () => {
    expect(plan).toMatchObject({ host: ops.name, address: ops.address, cluster: '', roles: ['ops'] });
  });

  it('its script (planned and filled) checks for the daemon first and ends with the unit; a node host\'s does neither', () => {
    expect(script).toBe(clusterMgrOpsScript(filled));
    expect(plan.script).toBe(clusterMgrOpsScript(plan.files));
    expect(script.startsWith(CLUSTER_MGR_PRECHECK)).toBe(true);
    const node = plans.find((p) => p.cluster !== '')!;
    expect(node.scriptFor(node.files)).toBe(node.script);
    expect(node.script).not.toContain(CLUSTER_MGR_PRECHECK.trim());
  });

  const table: [string, string, boolean][] = [
    ['/etc/systemd/system/cluster-mgr.service', '0644', false],
    ['/etc/cluster-mgr/federation.yaml', '0644', false],
    ['/etc/cluster-mgr/api-token.env', '0640', true],
    ...members.map((m): [string, string, boolean] => [`/etc/cluster-mgr/kubeconfigs/${m}.yaml`, '0640', true]),
  ];
  it.each(table)('%s: mode %s, secret filled at deploy time: %s', (path, mode, secret) => {
    const f = plan.files.find((x) => x.remotePath === path);
    expect(f, path).toBeDefined();
    expect(f!.mode).toBe(mode);
    expect(needsSecrets(f!)).toBe(secret);
    if (secret) expect(f!.content, 'no secret in the plan').toBe('');
  });

  it('the federation config names exactly the kubeconfig files the plan writes', () => {
    const cfg = plan.files.find((f) => f.remotePath.endsWith('federation.yaml'))!.content;
    for (const m of members) expect(cfg).toContain(`kubeconfig: /etc/cluster-mgr/kubeconfigs/${m}.yaml`);
    expect(plan.files.filter((f) => f.remotePath.startsWith('/etc/cluster-mgr/kubeconfigs/')).map((f) => f.remotePath)).toEqual(members.map((m) => `/etc/cluster-mgr/kubeconfigs/${m}.yaml`));
  });

  it('filled: the env file is CLUSTER_MGR_TOKEN=<token>, each kubeconfig is its member\'s', () => {
    expect(filled.find((f) => f.remotePath.endsWith('api-token.env'))!.content).toBe(`${CLUSTER_MGR_API_TOKEN.env}=${TOKEN}\n`);
    for (const m of members) expect(filled.find((f) => f.remotePath.endsWith(`/${m}.yaml`))!.content).toBe(KUBECONFIGS[m]);
  });

  it.each([
    ['no token', { kubeconfigs: KUBECONFIGS }, /api-token\.env: needs cluster-mgr's API token/],
    ['a token with a space', { clusterMgrToken: 'a b', kubeconfigs: KUBECONFIGS }, /one word/],
    ['a member without kubeconfig', { clusterMgrToken: TOKEN, kubeconfigs: { [members[0]!]: 'x' } }, new RegExp(`no kubeconfig for member ${members[1]}`)],
  ])('%s: an error naming the file', (_, secrets, msg) => {
    expect(() => withSecrets(plan.files, secrets)).toThrow(msg);
  });

  it('the script never prints a secret: values only base64 in `put` lines, no echo/printf of them, no xtrace', () => {
    const secrets = [TOKEN, ...Object.values(KUBECONFIGS).map((k) => k.split('\n')[3]!.trim())];
    const lines = script.split('\n');
    for (const s of secrets) expect(script.includes(s), `${s} in clear`).toBe(false);
    const secretFiles = filled.filter(needsSecrets);
    for (const f of secretFiles) {
      const b64 = Buffer.from(f.content).toString('base64');
      const carrying = lines.filter((l) => l.includes(b64));
      expect(carrying, f.remotePath).toHaveLength(1);
      expect(carrying[0]!.startsWith(`put ${f.mode} '${f.remotePath}' `), f.remotePath).toBe(true);
    }
    expect(script).not.toMatch(/set -[a-z]*x|set -o xtrace/);
    // The only output commands: the precheck's message (no secret) and put's printf into base64 -d.
    const printing = lines.filter((l) => /\b(echo|printf|cat|tee)\b/.test(l));
    expect(printing.map((l) => (l.startsWith('put()') ? 'put()' : l.slice(0, 30)))).toEqual([expect.stringMatching(/^if \[ ! -x /), 'put()']);
    expect(lines.find((l) => l.startsWith('put()'))).toContain('printf %s "$3" | base64 -d > "$t"');
  });

  it('order: the daemon must exist before anything is written; files, then the group on the credentials, then the restart', () => {
    const at = (s: string) => script.indexOf(s);
    expect(at('if [ ! -x \'/usr/local/bin/cluster-mgr\' ]')).toBe(0);
    expect(at("put 0640 '/etc/cluster-mgr/api-token.env'")).toBeGreaterThan(0);
    expect(at('chown -R root:cluster-mgr /etc/cluster-mgr')).toBeGreaterThan(at("put 0640 '/etc/cluster-mgr/api-token.env'"));
    expect(at('find /etc/cluster-mgr -type d -exec chmod 0750')).toBeGreaterThan(at('chown -R'));
    expect(at('systemctl restart cluster-mgr.service')).toBeGreaterThan(at('find /etc/cluster-mgr'));
  });

  it('sh -n accepts the script', () => {
    execFileSync('sh', ['-n'], { input: script });
  });

  it('the unfilled plan script carries no credential file content and the secret trigger is left to deploy time', () => {
    const secretFiles: HostFile[] = clusterMgrSecretFiles(ops.name, members);
    expect(secretFiles.every((f) => f.content === '')).toBe(true);
    expect(plan.trigger).toMatch(/^[0-9a-f]{64}$/);
    expect(plan.script).not.toContain(TOKEN);
  });
});
