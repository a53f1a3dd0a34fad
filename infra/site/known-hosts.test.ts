import { describe, expect, it } from 'vitest';
import { parseKnownHosts, pinnedKey } from './known-hosts';

describe('pinnedKey', () => {
  const known = parseKnownHosts(
    ['10.10.1.* ssh-ed25519 AAAAwild', '!10.10.1.9,10.10.1.* ssh-rsa AAAAneg', '@revoked 10.10.2.1 ssh-ed25519 AAAArev', 'n1 ssh-ed25519 AAAAname'].join('\n'),
  );
  it.each([
    [['10.10.1.5'], 22, 'ssh-ed25519 AAAAwild'],
    [['10.10.2.1'], 22, undefined],
    [['10.10.2.1', 'n1'], 22, 'ssh-ed25519 AAAAname'],
    [['10.10.1.5'], 2222, undefined],
  ] as const)('%j port %d → %s', (names, port, want) => expect(pinnedKey(known, names, port)).toBe(want));
});
