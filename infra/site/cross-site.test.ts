import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { checkAcrossSites } from './cross-site';
import { formatError, parseSite, type Site } from './index';

function load(file: string, edit: (d: ReturnType<typeof parseDocument>) => void = () => {}): Site {
  const doc = parseDocument(readFileSync(file, 'utf8'));
  edit(doc);
  const r = parseSite(doc.toString(), file);
  if (!r.ok) throw new Error(r.errors.map(formatError).join('\n'));
  return r.value;
}

const sh1 = { file: 'examples/sh1.yaml', site: load('examples/sh1.yaml') }; // sh1-a 10.48.0.0/15 + 10.112.0.0/17, sh1-b 10.50.0.0/15 + 10.112.128.0/17

describe('checkAcrossSites', () => {
  // [case, edit of bj1 (one cluster, site-level ranges 10.244.0.0/16 + 10.96.0.0/12), expected issues as `path: fragment`]
  const cases: [string, (d: ReturnType<typeof parseDocument>) => void, string[]][] = [
    ['disjoint ranges', () => {}, []],
    ['pod range inside a peer pod range', (d) => d.setIn(['spec', 'network', 'podCIDR'], '10.49.0.0/16'), ['spec.network.podCIDR: "sh1-a" podCIDR "10.48.0.0/15"']],
    ['pod range over a peer service range', (d) => d.setIn(['spec', 'network', 'podCIDR'], '10.112.0.0/14'), ['spec.network.podCIDR: "sh1-a" serviceCIDR "10.112.0.0/17"']],
    ['service range over both peer clusters', (d) => d.setIn(['spec', 'network', 'serviceCIDR'], '10.48.0.0/12'), ['spec.network.serviceCIDR: "sh1-a" podCIDR "10.48.0.0/15"']],
    [
      "a cluster's own range is located at the cluster",
      (d) => d.setIn(['spec', 'clusters', 0, 'network'], d.createNode({ podCIDR: '10.50.8.0/21' })),
      ['spec.clusters.0.network.podCIDR: "sh1-b" podCIDR "10.50.0.0/15"'],
    ],
  ];
  it.each(cases)('%s', (_name, edit, expected) => {
    const issues = checkAcrossSites(load('examples/bj1.yaml', edit), [sh1]);
    expect(issues.map((i) => `${i.path.join('.')}: ${i.message.match(/cluster "[^"]+" \w+ "[^"]+":/)![0].slice(8, -1)}`)).toEqual(expected);
    for (const i of issues) expect(i.message).toMatch(/overlaps site "sh1" \(examples\/sh1\.yaml\).*give this cluster a range no other site uses$/);
  });
});
