// `spec.day2` of the Federation file: strict schema, node-cron's own validation of schedules, and
// cross-field checks, each reported as `FILE:LINE:COL PATH: message` naming the value and the fix.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatError, parseFederation } from '../../cluster-mgr/config/index';
import { run } from '../lab/exec';

const base = (day2: string) => `apiVersion: flotilla.dev/v1alpha1
kind: Federation
metadata: { name: lab }
spec:
  members:
    - { name: bj1-a, kubeconfig: ./a.yaml }
  day2:
${day2}`;

const one = (check: string) => base(`    checks:\n      - ${check.trim().split('\n').join('\n        ')}\n`);

describe('spec.day2 (valid)', () => {
  it('fills defaults per kind and keeps the order', () => {
    const r = parseFederation(
      base(`    checks:
      - { name: registry-tls, kind: certExpiry, schedule: "*/5 * * * *", endpoints: ["registry.bj1.example.com:443"] }
      - { name: domain, kind: domainExpiry, schedule: "0 6 * * *", domain: bj1.example.com, rdap: "https://rdap.example.net/" }
      - { name: gitlab-backup, kind: backupFreshness, schedule: "0 * * * *", path: /mnt/backups/gitlab, maxAge: 26h, warnAfter: 25h }
      - { name: etcd, kind: etcdSnapshot, schedule: "*/15 * * * *", path: /var/backups/etcd, maxAge: 2h }
      - { name: mirror, kind: registrySync, schedule: "* * * * * *", mirrors: [registry.sh1.example.com] }
`),
    );
    if (!r.ok) throw new Error(r.errors.map(formatError).join('\n'));
    const checks = r.value.spec.day2!.checks;
    expect(checks.map((c) => c.kind)).toEqual(['certExpiry', 'domainExpiry', 'backupFreshness', 'etcdSnapshot', 'registrySync']);
    expect(checks[0]).toMatchObject({ timeout: '10s', warnBefore: '720h', failBefore: '168h' });
    expect(checks[3]).toMatchObject({ match: '*.db' });
    expect(checks[4]).toMatchObject({ statusFile: '/var/lib/flotilla/registry-sync.json', maxLag: '2h' });
  });

  it('day2 is optional; checks default to none', () => {
    const without = parseFederation(base('    {}\n').replace('  day2:\n    {}\n', ''));
    expect(without.ok && without.value.spec.day2).toBeUndefined();
    const empty = parseFederation(base('    {}\n'));
    expect(empty.ok && empty.value.spec.day2).toEqual({ checks: [] });
  });
});

describe('spec.day2 (invalid) → located errors', () => {
  it.each([
    ['a cron field out of range', `{ name: c, kind: etcdSnapshot, schedule: "61 * * * *", path: /e, maxAge: 1h }`, 'spec.day2.checks[0].schedule', /^"61 \* \* \* \*" is not a cron expression \(minute 61 is a invalid expression for minute\): use 5 fields .* e\.g\. "\*\/5 \* \* \* \*"/],
    ['too few cron fields', `{ name: c, kind: etcdSnapshot, schedule: "every 5m", path: /e, maxAge: 1h }`, 'spec.day2.checks[0].schedule', /"every 5m" is not a cron expression \(expected 5 or 6 fields but got 2\)/],
    ['an impossible date', `{ name: c, kind: etcdSnapshot, schedule: "0 0 31 2 *", path: /e, maxAge: 1h }`, 'spec.day2.checks[0].schedule', /"0 0 31 2 \*" is not a cron expression \(dayOfMonth .*impossible day of month/],
    ['an unknown kind', `{ name: c, kind: certExpiryy, schedule: "* * * * *" }`, 'spec.day2.checks[0].kind', /unknown check kind "certExpiryy": expected one of certExpiry, domainExpiry, backupFreshness, etcdSnapshot, registrySync/],
    ['a field of another kind', `{ name: c, kind: certExpiry, schedule: "* * * * *", endpoints: ["a:443"], maxAge: 1h }`, 'spec.day2.checks[0].maxAge', /unknown field "maxAge"|Unrecognized key/],
    ['no endpoints', `{ name: c, kind: certExpiry, schedule: "* * * * *", endpoints: [] }`, 'spec.day2.checks[0].endpoints', /at least one host:port/],
    ['an endpoint without port', `{ name: c, kind: certExpiry, schedule: "* * * * *", endpoints: ["reg.example.com"] }`, 'spec.day2.checks[0].endpoints[0]', /"reg\.example\.com" is not host:port/],
    ['a bad duration', `{ name: c, kind: backupFreshness, schedule: "* * * * *", path: /b, maxAge: 1d }`, 'spec.day2.checks[0].maxAge', /"1d" is not a duration/],
    ['warnBefore not before failBefore', `{ name: c, kind: domainExpiry, schedule: "0 6 * * *", domain: a.example.com, warnBefore: 24h, failBefore: 48h }`, 'spec.day2.checks[0].warnBefore', /warnBefore "24h" must be longer than failBefore "48h"/],
    ['warnAfter not before maxAge', `{ name: c, kind: backupFreshness, schedule: "0 * * * *", path: /b, maxAge: 26h, warnAfter: 30h }`, 'spec.day2.checks[0].warnAfter', /warnAfter "30h" must be shorter than maxAge "26h"/],
    ['a bad check name', `{ name: Etcd_1, kind: etcdSnapshot, schedule: "* * * * *", path: /e, maxAge: 1h }`, 'spec.day2.checks[0].name', /not a DNS-1123 label/],
  ])('%s', (_name, check, path, msg) => {
    const r = parseFederation(one(check), 'fed.yaml');
    expect(r.ok).toBe(false);
    const errors = r.ok ? [] : r.errors;
    const e = errors.find((x) => x.path === path);
    expect(e, errors.map(formatError).join('\n')).toBeDefined();
    expect(e!.message).toMatch(msg);
    // Located in the file: the line of the check (line 9: the first list item).
    expect(e!.line).toBe(9);
    expect(formatError(e!)).toMatch(new RegExp(`^fed\\.yaml:9:\\d+ ${path.replace(/[.[\]]/g, '\\$&')}: `));
  });

  it('duplicate names point at the second one', () => {
    const r = parseFederation(
      base(`    checks:
      - { name: c, kind: etcdSnapshot, schedule: "* * * * *", path: /e, maxAge: 1h }
      - { name: c, kind: backupFreshness, schedule: "* * * * *", path: /b, maxAge: 1h }
`),
      'fed.yaml',
    );
    expect(r.ok ? [] : r.errors.map(formatError)).toEqual([expect.stringMatching(/^fed\.yaml:10:\d+ spec\.day2\.checks\[1\]\.name: duplicate check name "c" \(also spec\.day2\.checks\[0\]\)/)]);
  });

  it('an unknown field under day2 is an error', () => {
    const r = parseFederation(base('    checks: []\n    interval: 5m\n'), 'fed.yaml');
    expect(r.ok ? [] : r.errors.map((e) => e.path)).toEqual(['spec.day2.interval']);
  });
});

describe('cluster-mgr run with a bad schedule', () => {
  it('exits 2 before starting, printing FILE:LINE:COL spec.day2.checks[0].schedule and the fix', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'day2-cli-'));
    try {
      writeFileSync(join(dir, 'a.yaml'), 'apiVersion: v1\nkind: Config\n');
      const file = join(dir, 'fed.yaml');
      writeFileSync(file, one(`{ name: c, kind: etcdSnapshot, schedule: "*/5 * * *", path: /e, maxAge: 1h }`));
      const r = await run('node', ['bin/cluster-mgr.mjs', 'run', '--config', file, '--listen', '127.0.0.1:0'], { timeoutMs: 30_000 });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`${file}:9:`);
      expect(r.stderr).toMatch(/ spec\.day2\.checks\[0\]\.schedule: "\*\/5 \* \* \*" is not a cron expression \(expected 5 or 6 fields but got 4\): use 5 fields/);
      expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+\)?/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('docs/cluster-mgr.md', () => {
  it('the day-2 example in the config reference is a valid Federation', () => {
    const md = readFileSync('docs/cluster-mgr.md', 'utf8');
    const block = [...md.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes('day2:') && b.includes('kind: Federation'));
    expect(block, 'a ```yaml block with kind: Federation and day2:').toBeDefined();
    const r = parseFederation(block!, 'docs/cluster-mgr.md');
    expect(r.ok ? [] : r.errors.map(formatError)).toEqual([]);
    expect(r.ok && r.value.spec.day2!.checks.map((c) => c.kind).sort()).toEqual(['backupFreshness', 'certExpiry', 'domainExpiry', 'etcdSnapshot', 'registrySync']);
  });
});
