// Runs inside the "cluster-mgr" lab namespace: cluster-mgr's HAProxy adapter (HaproxySwitch) over
// the front hosts' TCP runtime APIs with mutual TLS, driven by JSON lines on stdin, one JSON reply
// line per request. `pass` is what the daemon's traffic pass does from observed state: observe, and
// re-apply the asked state to a member some front host disagrees with.
import { createInterface } from 'node:readline';
import { HaproxySwitch, haproxyCommand, parseServersState, toMemberTraffic, type HaproxySocket } from '../../cluster-mgr/adapters/haproxy';

const cfg = JSON.parse(process.argv[2]!) as { addresses: string[]; tls: { caFile: string; certFile: string; keyFile: string }; backends: string[] };
const sockets: HaproxySocket[] = cfg.addresses.map((a) => ({ host: a.split(':')[0]!, port: Number(a.split(':')[1]), tls: cfg.tls }));
const sw = new HaproxySwitch({ sockets, backends: cfg.backends, timeoutMs: 1500 });
const asked = new Map<string, 'ready' | 'drain' | 'maint'>();

type Req = { op: 'set'; member: string; state: 'ready' | 'drain' | 'maint' } | { op: 'pass' } | { op: 'perHost'; member: string } | { op: 'raw'; address: string; tls: HaproxySocket & object };

async function handle(r: Req): Promise<unknown> {
  if (r.op === 'set') {
    asked.set(r.member, r.state);
    await sw.set(r.member, r.state);
    return { endpoints: sw.endpoints() };
  }
  if (r.op === 'pass') {
    const seen = await sw.observe();
    const reapplied: string[] = [];
    for (const [m, state] of asked) {
      if (seen[m]?.state === state) continue;
      await sw.set(m, state);
      reapplied.push(m);
    }
    return { reapplied, endpoints: sw.endpoints() };
  }
  if (r.op === 'perHost') {
    const out: Record<string, string> = {};
    for (const s of sockets) {
      const rows = parseServersState(await haproxyCommand(s, `show servers state ${cfg.backends[0]}`, 1500));
      out[`${(s as { host: string }).host}`] = toMemberTraffic(rows.find((x) => x.server === r.member)!).state;
    }
    return out;
  }
  return { reply: await haproxyCommand(r.tls, 'show info', 1500) };
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  handle(JSON.parse(line) as Req).then(
    (v) => process.stdout.write(`${JSON.stringify({ ok: true, v })}\n`),
    (e: Error) => process.stdout.write(`${JSON.stringify({ ok: false, error: e.message })}\n`),
  );
});
process.stdout.write('{"ready":true}\n');
