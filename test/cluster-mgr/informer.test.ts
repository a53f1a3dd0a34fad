// The member informer (adapters/kube Informer: client-node's ListWatch over BoundedWatch) against a
// scripted API server on loopback: a watch the server ends (its timeoutSeconds) resumes from the last
// resourceVersion — bookmarks included — without a LIST; a broken stream resumes the same way after a
// backoff; only 410 Gone relists. Every watch asks for bookmarks and a server-side timeout of 5–10 min.
// KubeMember keeps its node snapshots (the before/after of node events) from those events alone.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Informer, KubeClient, KubeMember, type InformerEvent } from '../../cluster-mgr/adapters/kube';
import type { MemberEvent } from '../../cluster-mgr/contracts/index';
import type { NodeSnapshot } from '../../cluster-mgr/core/scheduling';
import { waitFor } from '../lab/index';

type Step = (res: ServerResponse, rv: string) => void;
const line = (res: ServerResponse, type: string, object: unknown, then?: () => void) => res.write(`${JSON.stringify({ type, object })}\n`, then);
const pod = (name: string, rv: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'shop', resourceVersion: rv } });

/** Listens on loopback and writes a kubeconfig for the scripted server (token auth, plain HTTP). */
async function serve(srv: Server): Promise<string> {
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  const kubeconfig = join(mkdtempSync(join(tmpdir(), 'cm-informer-')), 'kubeconfig.yaml');
  writeFileSync(
    kubeconfig,
    `apiVersion: v1
kind: Config
clusters: [{ name: s, cluster: { server: "http://127.0.0.1:${port}" } }]
users: [{ name: u, user: { token: t } }]
contexts: [{ name: s, context: { cluster: s, user: u } }]
current-context: s
`,
  );
  return kubeconfig;
}

let server: Server | undefined;
let ac = new AbortController();
afterEach(async () => {
  ac.abort();
  ac = new AbortController();
  await new Promise((r) => server?.close(r));
});

describe('Informer: no relist while the watch is healthy', () => {
  it('resumes from the last resourceVersion after a server-side end and a broken stream; relists only on 410 Gone', async () => {
    const lists: string[] = [];
    const watches: URLSearchParams[] = [];
    // What each watch request gets, in order.
    const steps: Step[] = [
      (res) => {
        line(res, 'ADDED', pod('a', '11'));
        line(res, 'BOOKMARK', { kind: 'Pod', metadata: { resourceVersion: '15' } });
        res.end(); // the server's timeoutSeconds ran out
      },
      (res) => {
        line(res, 'MODIFIED', pod('a', '16'), () => res.destroy()); // then the connection breaks mid-stream
      },
      (res) => {
        line(res, 'ERROR', { kind: 'Status', code: 410, message: 'too old resource version' });
        res.end();
      },
      () => undefined, // stays open until the test ends
    ];
    server = createServer((req, res) => {
      const url = new URL(req.url!, 'http://x');
      res.writeHead(200, { 'Content-Type': 'application/json' });
      if (!url.searchParams.has('watch')) {
        lists.push(url.search);
        res.end(JSON.stringify({ kind: 'PodList', metadata: { resourceVersion: lists.length === 1 ? '10' : '20' }, items: lists.length === 1 ? [pod('a', '9')] : [pod('b', '19')] }));
        return;
      }
      watches.push(url.searchParams);
      (steps[watches.length - 1] ?? steps.at(-1)!)(res, url.searchParams.get('resourceVersion') ?? '');
    });
    const kubeconfig = await serve(server);
    const events: string[] = [];
    const client = new KubeClient({ name: 'm', kubeconfig, timeoutMs: 2000, maxBackoffMs: 200 });
    const inf = new Informer(client, '/api/v1/pods', '', (e: InformerEvent) => events.push(e.type === 'LISTED' ? 'LISTED' : `${e.type} ${String(e.object.metadata?.name)}`), 'pods');
    void inf.run(ac.signal);

    await waitFor(() => watches.length >= 4, { timeoutMs: 10_000, what: 'four watches' });
    // Watch 1 from the list's resourceVersion; 2 from the bookmark's (no LIST in between); 3 after the
    // broken stream from the last event's; 4 after 410 Gone from the relist's.
    expect(watches.map((w) => w.get('resourceVersion'))).toEqual(['10', '15', '16', '20']);
    expect(lists).toHaveLength(2);
    for (const w of watches) {
      expect(w.get('allowWatchBookmarks')).toBe('true');
      expect(Number(w.get('timeoutSeconds'))).toBeGreaterThanOrEqual(300);
      expect(Number(w.get('timeoutSeconds'))).toBeLessThan(600);
    }
    expect(inf.lists).toBe(2);
    expect(inf.synced).toBe(true);
    // The relist reports what changed: a gone, b added.
    expect(events).toEqual(['ADDED a', 'LISTED', 'MODIFIED a', 'MODIFIED a', 'DELETED a', 'ADDED b', 'LISTED']);
    expect(inf.list().map((o) => o.metadata?.name)).toEqual(['b']);
  });
});

describe('KubeMember: node snapshots across a relist', () => {
  it('a 410 relist reports each node change once, with its before and after, then `listed`', async () => {
    const node = (name: string, rv: string, ready: boolean) => ({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, resourceVersion: rv, labels: { zone: 'z1' } },
      spec: {},
      status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }], allocatable: { cpu: '4', memory: '8Gi', pods: '110' } },
    });
    let nodeLists = 0;
    let nodeWatches = 0;
    server = createServer((req, res) => {
      const url = new URL(req.url!, 'http://x');
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const isNodes = url.pathname === '/api/v1/nodes';
      if (!url.searchParams.has('watch')) {
        if (!isNodes) return res.end(JSON.stringify({ kind: 'List', metadata: { resourceVersion: '1' }, items: [] }));
        nodeLists++;
        // First list: n1 Ready, n2 Ready. The relist: n1 NotReady (changed), n2 gone, n3 new.
        const items = nodeLists === 1 ? [node('n1', '5', true), node('n2', '6', true)] : [node('n1', '30', false), node('n3', '31', true)];
        return res.end(JSON.stringify({ kind: 'NodeList', metadata: { resourceVersion: nodeLists === 1 ? '10' : '40' }, items }));
      }
      if (!isNodes) return; // pods and deployments: watches that stay open
      nodeWatches++;
      if (nodeWatches === 1) {
        line(res, 'ERROR', { kind: 'Status', code: 410, message: 'too old resource version' });
        res.end();
      } // the watch after the relist stays open
    });
    const kubeconfig = await serve(server);
    const seen: string[] = [];
    const member = new KubeMember({
      name: 'm',
      kubeconfig,
      timeoutMs: 2000,
      maxBackoffMs: 200,
      onEvent: (e: MemberEvent) => {
        if (e.kind !== 'node') return;
        const show = (s: NodeSnapshot | undefined) => (s ? `${s.name}:${s.ready ? 'Ready' : 'NotReady'}` : '-');
        seen.push(`${show(e.before)} → ${show(e.after)}`);
      },
    });
    member.start(ac.signal);
    await waitFor(() => nodeWatches >= 2 && seen.length >= 5, { timeoutMs: 10_000, what: 'the relist and its node events' });
    expect(nodeLists).toBe(2);
    expect(seen).toEqual(['- → n1:Ready', '- → n2:Ready', 'n2:Ready → -', 'n1:Ready → n1:NotReady', '- → n3:Ready']);
  });
});
