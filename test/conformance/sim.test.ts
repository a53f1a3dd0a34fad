// The conformance suite against the simulator (cluster-mgr/sim). Gaps are documented in docs/sim.md.
import { describe, expect, it } from 'vitest';
import { conformanceTable, runConformance } from './runner';
import { CASES } from './suite';
import { simTarget } from './targets';

runConformance({ kind: 'sim', start: simTarget });

describe('docs/sim.md', () => {
  it('lists every conformance behaviour with its sim status and real-server test', () => {
    const rows = conformanceTable();
    const listed = new Set(rows.map((r) => r.behaviour));
    expect(CASES.map((c) => c.title).filter((t) => !listed.has(t)), 'behaviours missing from docs/sim.md').toEqual([]);
    for (const c of CASES) {
      const row = rows.find((r) => r.behaviour === c.title)!;
      expect(row.sim, c.title).toMatch(c.simGap ? /^gap\b/ : /^passes\b/);
      expect(row.real, c.title).toContain(c.ipv6 ? 'test/conformance/real-ipv6.test.ts' : 'test/conformance/real.test.ts');
    }
  });
});
