// `--apps DIR`: FederatedApp documents are picked up from a watched folder; a bad one keeps the old set.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, expect, it } from 'vitest';
import { runDaemon, type Running } from '../../cluster-mgr/daemon/main';
import { waitFor } from '../lab/wait';
import { federatedAppYaml } from './app-doc';
import { startEnv, type Env } from './harness';

let env: Env | undefined;
let cm: Running | undefined;
afterAll(async () => {
  await cm?.stop();
  await env?.sim.stop();
});

const doc = (name: string, replicas: number | string) =>
  federatedAppYaml(name, { namespace: 'tools', replicas, image: `registry.example.com/${name}:1`, requests: '{ cpu: 100m, memory: 64Mi }' });

it('picks up, updates and keeps apps from a watched folder', async () => {
  env = await startEnv({ names: ['sim-1', 'sim-2'] }, { health: { interval: '500ms', timeout: '400ms' } });
  const dir = join(env.sim.outDir, 'apps');
  mkdirSync(dir);
  const log = pino({ level: 'info' }, pino.destination({ dest: env.logFile, sync: true, append: true }));
  cm = await runDaemon({ federation: env.federation, configFile: env.configFile, apps: env.federation.spec.apps, appsDir: dir, listen: { host: '127.0.0.1', port: 0 }, log });
  const replicas = () => env!.sim.members.map((m) => env!.sim.member(m.name).get('Deployment', 'tools', 'api')?.spec?.replicas as number | undefined);
  writeFileSync(join(dir, 'api.yaml'), doc('api', 4));
  await waitFor(() => replicas().join() === '2,2', { timeoutMs: 10_000, what: 'api 2/2 from the folder' });
  writeFileSync(join(dir, 'api.yaml'), doc('api', 6));
  await waitFor(() => replicas().join() === '3,3', { timeoutMs: 10_000, what: 'api scaled to 3/3' });
  // an invalid document: logged, the previous set (6 replicas) stays
  writeFileSync(join(dir, 'api.yaml'), doc('api', '"six"'));
  await waitFor(() => /apps folder invalid; keeping the previous apps/.test(readLog(env!.logFile)), { timeoutMs: 10_000, what: 'the invalid folder to be logged' });
  expect(replicas().join()).toBe('3,3');
});

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
