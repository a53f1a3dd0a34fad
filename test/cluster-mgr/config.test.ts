// `cluster-mgr plan` and the Federation loader, run as a real process through the package bin.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFederation } from '../../cluster-mgr/config/index';
import { CapacitySchema } from '../../cluster-mgr/config/schema';
import { run } from '../lab/exec';
import { sharedPath } from '../lab/shared';
import { federatedAppYaml } from './app-doc';

const cm = (...args: string[]) => run('node', ['bin/cluster-mgr.mjs', ...args], { timeoutMs: 30_000 });
const example = readFileSync(sharedPath('contract', 'federation.example.yaml'), 'utf8');
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cm-config-'));
  mkdirSync(join(dir, 'kubeconfigs'));
  for (const m of ['bj1-a', 'sh1-a']) writeFileSync(join(dir, 'kubeconfigs', `${m}.yaml`), 'apiVersion: v1\nkind: Config\n');
  writeFileSync(join(dir, 'federation.yaml'), example);
  writeFileSync(join(dir, 'capacity.json'), readFileSync(sharedPath('contract', 'capacity.example.json')));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function variant(name: string, edit: (text: string) => string): string {
  const f = join(dir, `${name}.yaml`);
  writeFileSync(f, edit(example));
  return f;
}

describe('Federation config', () => {
  it('the contract example is valid', () => {
    const r = parseFederation(example, 'federation.example.yaml');
    expect(r.ok ? [] : r.errors).toEqual([]);
  });

  it('plan on the contract examples prints the split as JSON, exit 0', async () => {
    const r = await cm('plan', '--config', join(dir, 'federation.yaml'), '--capacity', join(dir, 'capacity.json'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout);
    expect(plan['shop/web']).toMatchObject({ desired: 10, assignments: { 'bj1-a': 8, 'sh1-a': 2 }, unschedulable: 0 });
    expect(plan['shop/web'].reasons['sh1-a']).toMatch(/^capacity: \d+ more replicas fit \(cpu\)$/);
  });

  it.each([
    ['unknown member in perCluster', (t: string) => t.replace('perCluster: { bj1-a:', 'perCluster: { xx1-a:'), 'spec.apps[0].placement.perCluster.xx1-a', /unknown member "xx1-a" in perCluster: known members: bj1-a, sh1-a/],
    ['min > max', (t: string) => t.replace('{ min: 2, max: 8 }', '{ min: 9, max: 8 }'), 'spec.apps[0].placement.perCluster.bj1-a.min', /min 9 is greater than max 8/],
    ['invalid duration', (t: string) => t.replace('interval: 1s ', 'interval: 1 sec'), 'spec.health.interval', /"1 sec" is not a duration/],
    ['unreadable kubeconfig', (t: string) => t.replace('./kubeconfigs/sh1-a.yaml', './kubeconfigs/nope.yaml'), 'spec.members[1].kubeconfig', /cannot read kubeconfig .*no such file/],
    ['duplicate member', (t: string) => t.replace('- name: sh1-a', '- name: bj1-a'), 'spec.members[1].name', /duplicate member name "bj1-a"/],
    ['duplicate traffic server', (t: string) => t.replace('traffic: { server: sh1-a }', 'traffic: { server: bj1-a }'), 'spec.members[1].traffic.server', /already used/],
    ['unknown field', (t: string) => t.replace('failbackAfter: 60s', 'failbackAfter: 60s\n    retries: 3'), 'spec.health.retries', /unknown field "retries"/],
    ['bad spread', (t: string) => t.replace('spread: capacity', 'spread: random'), 'spec.apps[0].placement.spread', /"random" is not allowed/],
  ])('%s → exit 2 naming the field path', async (name, edit, path, msg) => {
    const file = variant(name.replaceAll(' ', '-').replace('>', 'gt'), edit);
    const r = await cm('plan', '--config', file, '--capacity', join(dir, 'capacity.json'));
    expect(r.code).toBe(2);
    const line = r.stderr.split('\n').find((l) => l.includes(` ${path}: `));
    expect(line, r.stderr).toBeDefined();
    expect(line).toMatch(new RegExp(`^${file.replaceAll('.', '\\.')}:\\d+:\\d+ `));
    expect(line).toMatch(msg);
    expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+\)?/);
  });

  it('a bad capacity file is exit 2 with its path', async () => {
    const f = join(dir, 'bad-capacity.json');
    writeFileSync(f, JSON.stringify({ clusters: { zz: { healthy: true, allocatable: { cpu: '1', memory: '1Gi', pods: 10 }, allocated: { cpu: 'x', memory: '0', pods: 0 } } } }));
    const r = await cm('plan', '--config', join(dir, 'federation.yaml'), '--capacity', f);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/clusters\.zz\.allocated\.cpu: "x" is not a quantity/);
    writeFileSync(f, JSON.stringify({ clusters: { zz: { healthy: true, allocatable: { cpu: '1', memory: '1Gi', pods: 10 }, allocated: { cpu: '0', memory: '0', pods: 0 } } } }));
    const r2 = await cm('plan', '--config', join(dir, 'federation.yaml'), '--capacity', f);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/clusters\.zz: unknown member "zz": known members: bj1-a, sh1-a/);
  });

  it('capacity quantities must be finite: "1e400" (Infinity) is rejected like any non-quantity', () => {
    const bad = CapacitySchema.safeParse({ clusters: { 'bj1-a': { allocatable: { cpu: '1e400', memory: '1Gi', pods: 10 }, allocated: { cpu: '0', memory: '0', pods: 0 } } } });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual(['clusters.bj1-a.allocatable.cpu: "1e400" is not a quantity: expected e.g. "500m", "512Mi", 2']);
  });

  it('run with a bad config exits 2 too', async () => {
    const file = variant('run-bad', (t) => t.replace('{ min: 2, max: 8 }', '{ min: 9, max: 8 }'));
    const r = await cm('run', '--config', file);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/spec\.apps\[0\]\.placement\.perCluster\.bj1-a\.min: min 9 is greater than max 8/);
  });

  it('FederatedApp documents from --apps are planned too; a bad one is exit 2', async () => {
    const apps = join(dir, 'apps');
    mkdirSync(apps, { recursive: true });
    const doc = (name: string, placementExtra = '') => federatedAppYaml(name, { namespace: 'shop', replicas: 4, placementExtra });
    writeFileSync(join(apps, 'api.yaml'), doc('api'));
    const r = await cm('plan', '--config', join(dir, 'federation.yaml'), '--capacity', join(dir, 'capacity.json'), '--apps', apps);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)['shop/api'].assignments).toEqual({ 'bj1-a': 2, 'sh1-a': 2 });
    writeFileSync(join(apps, 'bad.yaml'), doc('bad', ', perCluster: { nowhere: { max: 1 } }'));
    const r2 = await cm('plan', '--config', join(dir, 'federation.yaml'), '--capacity', join(dir, 'capacity.json'), '--apps', apps);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/bad\.yaml:\d+:\d+ spec\.placement\.perCluster\.nowhere: unknown member "nowhere"/);
  });
});
