import { describe, expect, it } from 'vitest';
import { formatImageRef, mirrorImage, parseImageRef, splitImage } from './image';

describe('image references', () => {
  it.each([
    ['nginx', { registry: 'docker.io', repository: 'library/nginx', tag: 'latest' }],
    ['nginx:1.25', { registry: 'docker.io', repository: 'library/nginx', tag: '1.25' }],
    ['registry:2', { registry: 'docker.io', repository: 'library/registry', tag: '2' }],
    ['istio/pilot:1.30.3', { registry: 'docker.io', repository: 'istio/pilot', tag: '1.30.3' }],
    ['quay.io/tigera/operator:v1.34.0', { registry: 'quay.io', repository: 'tigera/operator', tag: 'v1.34.0' }],
    ['localhost:5000/a/b/c:1', { registry: 'localhost:5000', repository: 'a/b/c', tag: '1' }],
    ['localhost:5000/a/b', { registry: 'localhost:5000', repository: 'a/b', tag: 'latest' }],
    [`r.example.com/x@sha256:${'a'.repeat(64)}`, { registry: 'r.example.com', repository: 'x', tag: undefined, digest: `sha256:${'a'.repeat(64)}` }],
    ['bitnami/redis:7', { registry: 'docker.io', repository: 'bitnami/redis', tag: '7' }],
  ])('parses %s', (ref, want) => {
    expect(parseImageRef(ref)).toEqual({ digest: undefined, ...want });
  });
  it.each(['UPPER/case:1', 'a:b:c', ''])('rejects %j', (ref) => expect(parseImageRef(ref)).toBeUndefined());

  it('formats what it parses', () => expect(formatImageRef(parseImageRef('quay.io/a/b:1')!)).toBe('quay.io/a/b:1'));

  it.each([
    ['registry.k8s.io/sig-storage/nfsplugin:v4.12.1', 'reg.example.com', 'reg.example.com/sig-storage/nfsplugin:v4.12.1'],
    ['haproxy:2.8', 'r.example', 'r.example/library/haproxy:2.8'],
    ['quay.io/a/b:1', 'r.example:5000', 'r.example:5000/a/b:1'],
    [`quay.io/a/b@sha256:${'b'.repeat(64)}`, 'r.example', `r.example/a/b@sha256:${'b'.repeat(64)}`],
  ])('mirrorImage(%s, %s) keeps path, tag and digest', (ref, reg, want) => expect(mirrorImage(ref, reg)).toBe(want));
  it('mirrorImage rejects a malformed reference', () => expect(() => mirrorImage('a:b:c', 'r')).toThrow(/invalid image reference/));
});

describe('splitImage', () => {
  it.each([
    ['nginx', 'docker.io', 'library/nginx'],
    ['nginx:1.27', 'docker.io', 'library/nginx:1.27'],
    ['grafana/grafana:11', 'docker.io', 'grafana/grafana:11'],
    ['quay.io/jetstack/cert-manager-controller:v1.16.2', 'quay.io', 'jetstack/cert-manager-controller:v1.16.2'],
    ['localhost:5000/a/b', 'localhost:5000', 'a/b'],
    ['localhost/a', 'localhost', 'a'],
    ['registry.k8s.io/pause@sha256:abc', 'registry.k8s.io', 'pause@sha256:abc'],
  ])('splitImage(%s)', (ref, registry, path) => {
    expect(splitImage(ref)).toEqual({ registry, path });
  });
});
