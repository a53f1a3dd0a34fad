import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, sharedDir } from './shared';

describe('sharedDir', () => {
  it('finds ../shared beside the repository root, independent of the working directory', () => {
    expect(sharedDir({})).toBe(join(REPO_ROOT, '..', 'shared'));
    expect(existsSync(join(sharedDir({}), 'contract'))).toBe(true);
  });

  it('FLOTILLA_SHARED overrides it; a missing folder is an error naming where it looked', () => {
    expect(sharedDir({ FLOTILLA_SHARED: join(REPO_ROOT, '..', 'shared') })).toBe(join(REPO_ROOT, '..', 'shared'));
    expect(() => sharedDir({ FLOTILLA_SHARED: '/nonexistent/flotilla-shared' })).toThrow(
      'shared folder not found: looked at /nonexistent/flotilla-shared (FLOTILLA_SHARED=/nonexistent/flotilla-shared)',
    );
  });
});
