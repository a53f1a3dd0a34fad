import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { hostFileDestination, restartScript, RESTART_COMMANDS, type HostService } from './host-files';

describe('hostFileDestination', () => {
  it.each([
    ['manifests/haproxy.yaml', '/etc/kubernetes/manifests/haproxy.yaml', '0600', 'api-vip'],
    ['containerd/certs.d/r/hosts.toml', '/etc/containerd/certs.d/r/hosts.toml', '0644', 'containerd'],
    ['containerd/certs.d/reg.example.com/ca.crt', '/etc/containerd/certs.d/reg.example.com/ca.crt', '0644', 'containerd'],
    ['check_apiserver.sh', '/etc/keepalived/check_apiserver.sh', '0755', 'api-vip'],
    ['keepalived.conf', '/etc/keepalived/keepalived.conf', '0644', 'api-vip'],
    ['haproxy.cfg', '/etc/haproxy/haproxy.cfg', '0644', 'api-vip'],
    ['keepalived-edge.conf', '/etc/keepalived/keepalived-edge.conf', '0644', 'edge-vip'],
    ['log-cleanup/flotilla-log-cleanup', '/usr/local/sbin/flotilla-log-cleanup', '0755', 'logs'],
    ['log-cleanup/flotilla-log-cleanup.cron', '/etc/cron.d/flotilla-log-cleanup', '0644', 'logs'],
  ])('%s → %s', (rel, dest, mode, step) => expect(hostFileDestination(rel)).toEqual({ dest, mode, step }));

  it.each([
    ['containerd/config.toml', '/etc/containerd/config.toml', '0644'],
    ['containerd/conf.d/10-flotilla-cri.toml', '/etc/containerd/conf.d/10-flotilla-cri.toml', '0600'],
  ])('%s → %s, restarting containerd', (rel, dest, mode) => expect(hostFileDestination(rel)).toEqual({ dest, mode, step: 'containerd', restart: 'containerd' }));

  it.each(['notes.txt', 'containerd/other.toml', 'containerd/conf.d/x.json', 'other.sh', 'manifests/x.json'])('%s is not a host file', (rel) => expect(hostFileDestination(rel)).toBeUndefined());

  it.each([
    ['front-haproxy.cfg', { dest: '/etc/haproxy/haproxy.cfg', mode: '0644', step: 'front', restart: 'haproxy', check: 'haproxy' }],
    ['keepalived-front.conf', { dest: '/etc/keepalived/keepalived.conf', mode: '0644', step: 'front', restart: 'keepalived', check: 'keepalived' }],
    ['cluster-mgr.service', { dest: '/etc/systemd/system/cluster-mgr.service', mode: '0644', step: 'ops', restart: 'cluster-mgr' }],
    ['cluster-mgr/federation.yaml', { dest: '/etc/cluster-mgr/federation.yaml', mode: '0644', step: 'ops', restart: 'cluster-mgr' }],
  ])('%s (front and ops hosts) → %j', (rel, want) => expect(hostFileDestination(rel)).toEqual(want));
});

describe('restartScript', () => {
  const services: HostService[] = ['containerd', 'haproxy', 'keepalived', 'cluster-mgr'];
  it.each(services)('%s: valid sh, paths under the staging root, systemd and direct branches', (svc) => {
    const script = restartScript(svc, (p) => `/stage/h1${p}`);
    execFileSync('sh', ['-n', '-c', script]); // throws on a syntax error
    expect(script).toContain('if [ -d /run/systemd/system ]; then ');
    expect(RESTART_COMMANDS[svc]).toBe(restartScript(svc));
    for (const m of script.matchAll(/'(\/[^']*)'/g)) expect(m[1], svc).toMatch(/^\/stage\/h1\//);
  });
  it.each([
    ['haproxy', /^haproxy -c -q -f '\/etc\/haproxy\/haproxy\.cfg' && .*systemctl reload-or-restart haproxy;.*haproxy -D -f '\/etc\/haproxy\/haproxy\.cfg' -p '\/run\/flotilla-haproxy\.pid' -sf "\$p"/],
    ['keepalived', /^keepalived -t -f '\/etc\/keepalived\/keepalived\.conf' && .*systemctl reload-or-restart keepalived;.*kill -HUP "\$p"/],
    ['cluster-mgr', /useradd --system .*systemctl enable cluster-mgr\.service.*if \[ -s '\/etc\/cluster-mgr\/api-token\.env' \] && ls '\/etc\/cluster-mgr'\/kubeconfigs\/\*\.yaml .* && \[ -x '\/usr\/local\/bin\/cluster-mgr' \]; then systemctl restart cluster-mgr\.service/],
  ] as const)('%s: the check, then reload; without systemd the direct mode', (svc, re) => expect(restartScript(svc)).toMatch(re));
});

