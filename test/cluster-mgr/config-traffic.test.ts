// Federation `traffic:` additions for the daemon wiring (issue 6): nginx.servers, dns.members,
// secondOpinion — unknown members and inconsistent guards are rejected with the field path.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatError, parseFederation } from '../../cluster-mgr/config/index';
import { sharedPath } from '../lab/shared';

const example = readFileSync(sharedPath('contract', 'federation.example.yaml'), 'utf8');
const withTraffic = (block: string) => example.replace(/  traffic:\n    haproxy: .*\n/, `  traffic:\n${block}\n`);

describe('Federation traffic block (daemon wiring)', () => {
  it.each([
    ['nginx servers + dns members + secondOpinion front', '    haproxy: { socket: /run/haproxy/admin.sock, backends: [web] }\n    nginx: { upstreamFile: /etc/nginx/conf.d/f.conf, reload: [nginx, -s, reload], servers: { bj1-a: "127.0.0.1:8081", sh1-a: "127.0.0.1:8082" } }\n    dns: { server: "127.0.0.1:53", zone: example.com, record: shop.example.com, tsigKeyFile: ./tsig.key, members: { bj1-a: [192.0.2.10], sh1-a: [192.0.2.20] } }\n    secondOpinion: front'],
    ['witness guard', '    haproxy: { socket: /run/haproxy/admin.sock, backends: [web] }\n    witness: { url: "http://127.0.0.1:8080/check/{member}" }\n    secondOpinion: witness'],
  ])('%s is valid', (_name, block) => {
    const r = parseFederation(withTraffic(block), 'f.yaml');
    expect(r.ok ? [] : r.errors.map(formatError)).toEqual([]);
  });

  it.each([
    ['unknown member in nginx.servers', '    nginx: { upstreamFile: /x.conf, reload: [nginx, -s, reload], servers: { nope: "127.0.0.1:1" } }', /spec\.traffic\.nginx\.servers\.nope.*unknown member "nope"/],
    ['unknown member in dns.members', '    dns: { server: "127.0.0.1:53", zone: z, record: r.z, tsigKeyFile: k, members: { nope: [192.0.2.1] } }', /spec\.traffic\.dns\.members\.nope.*unknown member "nope"/],
    ['witness guard without a witness', '    haproxy: { socket: /s, backends: [web] }\n    secondOpinion: witness', /spec\.traffic\.secondOpinion.*needs traffic\.witness\.url/],
    ['front guard without haproxy', '    witness: { url: "http://127.0.0.1:1/" }\n    secondOpinion: front', /spec\.traffic\.secondOpinion.*needs traffic\.haproxy/],
    ['unknown guard', '    haproxy: { socket: /s, backends: [web] }\n    secondOpinion: maybe', /spec\.traffic\.secondOpinion/],
  ])('%s → error with the field path', (_name, block, re) => {
    const r = parseFederation(withTraffic(block), 'f.yaml');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map(formatError).join('\n')).toMatch(re);
  });
});
