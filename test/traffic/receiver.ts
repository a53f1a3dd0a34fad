// A loopback HTTP receiver that records JSON POST bodies (webhook / Alertmanager receiver target), and
// a real Alertmanager that delivers to one.
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { freePort, startDaemon, waitFor, waitForPort, type Daemon } from '../lab/index';

export interface Receiver {
  readonly url: string;
  readonly bodies: unknown[];
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const bodies: unknown[] = [];
  const server = createServer((req, res) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (data += d));
    req.on('end', () => {
      try {
        bodies.push(JSON.parse(data));
      } catch {
        bodies.push(data);
      }
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    bodies,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A real Alertmanager on a free loopback port (state under `dir`) that routes every alert, grouped by
 * alertname and member within 100 ms, to `receiverUrl` (resolved notifications included).
 */
export async function startAlertmanager(dir: string, receiverUrl: string): Promise<{ daemon: Daemon; port: number }> {
  const port = await freePort();
  writeFileSync(
    join(dir, 'alertmanager.yml'),
    [
      'route:',
      '  receiver: hook',
      '  group_by: [alertname, member]',
      '  group_wait: 100ms',
      '  group_interval: 500ms',
      '  repeat_interval: 1h',
      'receivers:',
      '  - name: hook',
      '    webhook_configs:',
      `      - url: ${receiverUrl}`,
      '        send_resolved: true',
      '',
    ].join('\n'),
  );
  const daemon = startDaemon({
    name: 'alertmanager',
    command: 'prometheus-alertmanager',
    dir,
    args: [`--config.file=${dir}/alertmanager.yml`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=', `--storage.path=${dir}/data`],
  });
  await waitForPort('127.0.0.1', port, { timeoutMs: 10_000 });
  // The port opens before Alertmanager accepts alerts: wait until it says it is ready.
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/-/ready`).catch(() => undefined))?.status === 200, { what: 'Alertmanager /-/ready', timeoutMs: 20_000, intervalMs: 100 });
  return { daemon, port };
}
