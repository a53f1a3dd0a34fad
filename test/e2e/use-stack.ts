// One e2e stack per describe block: started in beforeAll when the tools are installed, stopped in
// afterAll (after `cleanup`, for what a test started on top of it).
import { afterAll, beforeAll } from 'vitest';
import { missingTools } from '../lab/index';
import type { FaultMode } from '../../cluster-mgr/sim/member';
import { startStack, type Stack, type StackOptions } from './stack';

/** Returns the block's stack (undefined when a tool is missing: the tests skip via requireTools). */
export function useStack(tools: readonly string[], options: StackOptions, cleanup?: () => Promise<unknown>): () => Stack | undefined {
  let stack: Stack | undefined;
  beforeAll(async () => {
    if (missingTools(tools).length > 0) return;
    stack = await startStack(options);
  }, 60_000);
  afterAll(async () => {
    await cleanup?.();
    await stack?.stop();
  }, 30_000);
  return () => stack;
}

/** Runs `body` with `fault` set on `member`; the member is healed ('none') afterwards, also on failure. */
export async function withFault(s: Stack, member: string, fault: FaultMode, body: () => Promise<void>): Promise<void> {
  await s.sim.setFault(member, fault);
  try {
    await body();
  } finally {
    await s.sim.setFault(member, 'none');
  }
}
