// TCP services behind edge VIPs (issue 14 item 4): every declared VIP port other than 80/443 gets an
// Istio Gateway server (protocol TCP, on the ingress gateway's pods) and a VirtualService TCP route
// to its backend, under the same port name as the gateway Service's port. Bad inventories are
// rejected with the field located. (Schema validity: test/schema; a real API server:
// test/synth/real-apply.test.ts, which applies every synthesized object.)
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { EdgeGateway, INGRESS_GATEWAY_SELECTOR, tcpRoutes, type EdgeVipSpec } from '../../constructs/index';
import { formatError, parseSite, type Site } from '../../infra/site/index';
import { synthesizeSite } from '../../infra/synth/index';
import { exampleFiles, loadExamples, objectsOf, ofKind, spec } from './helpers';

const examples = exampleFiles();
const sites = new Map<string, Site>();
beforeAll(() => loadExamples(sites));

interface Server {
  port: { number: number; name: string; protocol: string };
  hosts: string[];
}
interface TcpRule {
  match: { port: number }[];
  route: { destination: { host: string; port: { number: number } } }[];
}

describe.each(examples)('examples/%s', (file) => {
  it('every declared TCP port has a TCP Gateway server on the ingress gateway and a route to its backend', () => {
    const site = sites.get(file)!;
    const synth = synthesizeSite(site);
    let checked = 0;
    for (const cluster of site.spec.clusters) {
      const c = synth.clusters.find((x) => x.cluster === cluster.name)!;
      const edge = c.components.find((m) => m.component === 'edge-gateway')?.objects ?? [];
      const gatewayValues = c.charts.find((r) => r.id === 'istio-ingressgateway')?.values as { service: { ports: { name: string; port: number }[] } } | undefined;
      const hasEdges = cluster.nodes.some((n) => n.roles.includes('edge'));
      const gateways = ofKind(edge, 'Gateway');
      const routes = ofKind(edge, 'VirtualService');
      for (const vip of hasEdges ? cluster.edge.vips : []) {
        for (const port of vip.ports.filter((p) => p !== 80 && p !== 443)) {
          checked++;
          const where = `${cluster.name} VIP ${vip.name} port ${port}`;
          const gw = gateways.find((g) => (spec(g).servers as Server[]).some((s) => s.port.number === port));
          expect(gw, `${where}: Gateway server`).toBeDefined();
          expect(spec(gw).selector).toEqual(INGRESS_GATEWAY_SELECTOR);
          const server = (spec(gw).servers as Server[]).find((s) => s.port.number === port)!;
          expect(server.port.protocol).toBe('TCP');
          // the gateway Service (chart values) exposes the port under the same name
          expect(gatewayValues!.service.ports).toContainEqual(expect.objectContaining({ name: server.port.name, port }));
          const vs = routes.find((r) => (spec(r).tcp as TcpRule[] | undefined)?.some((t) => t.match.some((m) => m.port === port)));
          expect(vs, `${where}: VirtualService TCP route`).toBeDefined();
          expect(vs!.metadata.namespace).toBe(gw!.metadata.namespace);
          expect(spec(vs).gateways).toEqual([gw!.metadata.name]);
          const rule = (spec(vs).tcp as TcpRule[]).find((t) => t.match.some((m) => m.port === port))!;
          const backend = vip.backend;
          const wantHost = backend ? (backend.service.split('.').length === 2 ? `${backend.service}.svc.cluster.local` : backend.service) : `${vip.name}.default.svc.cluster.local`;
          expect(rule.route).toEqual([{ destination: { host: wantHost, port: { number: backend?.port ?? port } } }]);
        }
      }
      // nothing routed that was not declared
      const declared = new Set(cluster.edge.vips.flatMap((v) => v.ports).filter((p) => p !== 80 && p !== 443));
      for (const g of gateways.filter((x) => (spec(x).servers as Server[]).some((s) => s.port.protocol === 'TCP'))) {
        for (const s of spec(g).servers as Server[]) expect(declared.has(s.port.number), `${cluster.name}: undeclared port ${s.port.number}`).toBe(true);
      }
    }
    if (file !== 'customer-airgap.yaml') expect(checked, 'the example declares a TCP service (MySQL proxy)').toBeGreaterThan(0);
  });
});

describe('EdgeGateway TCP routes', () => {
  const nodes = [{ name: 'e1', address: '10.0.0.21' }];
  const configs = { e1: 'x' };
  const build = (vips: EdgeVipSpec[]) => objectsOf((s) => new EdgeGateway(s, 'edge', { nodes, keepalivedConfigs: configs, vips }));

  it('one Gateway server per port, one VirtualService per VIP; default backend <vip>.default on the same port', () => {
    const objs = build([
      { name: 'ingress', address: '10.0.0.100/24', ports: [80, 443] },
      { name: 'db', address: '10.0.0.101/24', ports: [3306, 5432], backend: { service: 'pgbouncer.db', port: 6432 } },
      { name: 'mq', address: '10.0.0.102/24', ports: [5672] },
    ]);
    expect((spec(ofKind(objs, 'Gateway')[0]).servers as Server[]).map((s) => [s.port.number, s.port.name, s.port.protocol])).toEqual([
      [3306, 'tcp-db-3306', 'TCP'],
      [5432, 'tcp-db-5432', 'TCP'],
      [5672, 'tcp-mq-5672', 'TCP'],
    ]);
    const vs = ofKind(objs, 'VirtualService');
    expect(vs.map((o) => o.metadata.name)).toEqual(['edge-tcp-db', 'edge-tcp-mq']);
    expect((spec(vs[0]).tcp as TcpRule[]).map((t) => [t.match[0]!.port, t.route[0]!.destination.host, t.route[0]!.destination.port.number])).toEqual([
      [3306, 'pgbouncer.db.svc.cluster.local', 6432],
      [5432, 'pgbouncer.db.svc.cluster.local', 6432],
    ]);
    expect(spec(vs[1]).tcp).toEqual([{ match: [{ port: 5672 }], route: [{ destination: { host: 'mq.default.svc.cluster.local', port: { number: 5672 } } }] }]);
  });

  it('only 80/443 → no TCP Gateway or route', () => {
    const objs = build([{ name: 'ingress', address: '10.0.0.100/24', ports: [80, 443] }]);
    expect(ofKind(objs, 'Gateway')).toEqual([]);
    expect(ofKind(objs, 'VirtualService')).toEqual([]);
  });

  it('a port shared by two VIPs with the same backend is one listener', () => {
    expect(tcpRoutes([
      { name: 'a', address: '10.0.0.101/24', ports: [3306], backend: { service: 'p.db' } },
      { name: 'b', address: '10.0.0.102/24', ports: [3306], backend: { service: 'p.db' } },
    ])).toEqual([{ vip: 'a', port: 3306, host: 'p.db.svc.cluster.local', targetPort: 3306 }]);
  });

  it.each([
    [[{ name: 'a', address: '10.0.0.101/24', ports: [3306], backend: { service: 'x.db' } }, { name: 'b', address: '10.0.0.102/24', ports: [3306], backend: { service: 'y.db' } }], 'EdgeGateway.vips[1].ports: got 3306, expected a port not already routed to x.db.svc.cluster.local:3306 by VIP a'],
    [[{ name: 'a', address: '10.0.0.101/24', ports: [3306], backend: { service: 'Bad_Name' } }], 'EdgeGateway.vips[0].backend.service: got "Bad_Name"'],
    [[{ name: 'a', address: '10.0.0.101/24', ports: [3306], backend: { service: 'x.db', port: 70000 } }], 'EdgeGateway.vips[0].backend.port: got 70000, expected a port 1–65535'],
  ])('rejects %j', (vips, message) => {
    expect(() => build(vips as EdgeVipSpec[])).toThrow(message);
  });
});

describe('inventory: TCP backends', () => {
  const base = readFileSync('examples/bj1.yaml', 'utf8');
  const mutate = (fn: (d: ReturnType<typeof parseDocument>) => void) => {
    const d = parseDocument(base);
    fn(d);
    return d.toString();
  };
  const vips = ['spec', 'clusters', 0, 'edge', 'vips'];
  it.each([
    ['backend without a namespace', (d: ReturnType<typeof parseDocument>) => d.setIn([...vips, 1, 'backend', 'service'], 'proxysql'), 'spec.clusters[0].edge.vips[1].backend.service', /names no namespace: expected "<service>.<namespace>"/],
    ['backend on an HTTP-only VIP', (d: ReturnType<typeof parseDocument>) => d.setIn([...vips, 0, 'backend'], { service: 'x.db' }), 'spec.clusters[0].edge.vips[0].backend', /no TCP port besides 80\/443/],
    ['a port reserved by Istio', (d: ReturnType<typeof parseDocument>) => d.setIn([...vips, 1, 'ports'], [15021]), 'spec.clusters[0].edge.vips[1].ports[0]', /reserved by the Istio ingress gateway/],
    ['one port, two backends', (d: ReturnType<typeof parseDocument>) => d.setIn([...vips, 0, 'ports'], [80, 443, 3306]), 'spec.clusters[0].edge.vips[1].ports[0]', /port 3306 is already routed to ingress.default:3306 by VIP "ingress"/],
  ])('%s', (_name, fn, path, message) => {
    const r = parseSite(mutate(fn), 'bj1.yaml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const e = r.errors.find((x) => formatError(x).includes(path));
    expect(e, r.errors.map(formatError).join('\n')).toBeDefined();
    expect(formatError(e!)).toMatch(message);
    expect(formatError(e!)).toMatch(/^bj1\.yaml:\d+:\d+ /);
  });
});

