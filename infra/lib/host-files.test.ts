import { describe, expect, it } from 'vitest';
import { hostFileDestination } from './host-files';

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
});
