// Tool requirements for real-component tests: under CI=true a missing tool fails the test; elsewhere
// the test skips and the skip reporter prints how many were skipped and why.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { TestContext } from 'vitest';

declare module 'vitest' {
  interface TaskMeta {
    skipReason?: string;
  }
}

const SEARCH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Absolute path of an executable on PATH (or the usual sbin folders), or undefined. */
export function which(tool: string): string | undefined {
  if (tool.includes('/')) {
    try {
      accessSync(tool, constants.X_OK);
      return tool;
    } catch {
      return undefined;
    }
  }
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...SEARCH];
  for (const dir of dirs) {
    const p = join(dir, tool);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

export function missingTools(tools: readonly string[]): string[] {
  return tools.filter((t) => !which(t));
}

export const isCI = (): boolean => process.env.CI === 'true' || process.env.CI === '1';
export const isRoot = (): boolean => process.getuid?.() === 0;

/**
 * Call first in a test that needs real tools (and root for namespaces). Missing → skip with a
 * recorded reason outside CI, or throw under CI=true.
 */
export function requireTools(ctx: TestContext, tools: readonly string[], opts: { root?: boolean } = {}): void {
  const missing = missingTools(tools);
  const reasons: string[] = [];
  if (missing.length > 0) reasons.push(`missing ${missing.join(', ')} (run scripts/setup)`);
  if (opts.root && !isRoot()) reasons.push('needs root for network namespaces');
  if (reasons.length === 0) return;
  const reason = reasons.join('; ');
  if (isCI()) throw new Error(`required under CI=true: ${reason}`);
  ctx.task.meta.skipReason = reason;
  ctx.skip();
}
