// `npm run bench`: runs every test/bench/*.bench.ts (default export: async () => BenchResult[])
// and prints a table; `npm run bench -- NAME` runs NAME.bench.ts (e.g. `failover-real`: failover on
// three real control planes). Figures are measured on this machine; the command is printed with them.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface BenchResult {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** Target, e.g. `≤ 2000 ms`; empty when informational. */
  readonly target?: string;
  readonly ok?: boolean;
  readonly detail?: string;
}

const only = process.argv[2];
const dir = 'test/bench';
// Benches that run only when named (`npm run bench -- steady-real`): long, on real control planes,
// and also called from another bench (failover-real).
const NAMED: Record<string, string> = { 'steady-real': 'steady-real.ts' };
const all = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .sort();
// `npm run bench -- failover` runs failover.bench.ts only, not failover-real.bench.ts (an exact name
// wins; otherwise every bench whose file name contains the word).
const files = !only ? all : NAMED[only] ? [NAMED[only]] : all.includes(`${only}.bench.ts`) ? [`${only}.bench.ts`] : all.filter((f) => f.includes(only));
const rows: BenchResult[] = [];
for (const f of files) {
  const mod = (await import(pathToFileURL(join(process.cwd(), dir, f)).href)) as { default: () => Promise<BenchResult[]> };
  process.stderr.write(`bench: ${f} …\n`);
  rows.push(...(await mod.default()));
}
console.log(`\nnpm run bench   (node ${process.version}, ${new Date().toISOString()})\n`);
for (const r of rows) {
  const verdict = r.ok === undefined ? '' : r.ok ? 'ok' : 'MISSED';
  console.log(`${r.name.padEnd(60)} ${String(Math.round(r.value * 100) / 100).padStart(10)} ${r.unit.padEnd(6)} ${(r.target ?? '').padEnd(12)} ${verdict}${r.detail ? `  ${r.detail}` : ''}`);
}
