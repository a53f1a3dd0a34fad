// How cluster-mgr's health probe (adapters/kube.ts) names a failure: a member that rejects the
// credentials (401/403) or presents an untrusted certificate answered — that is a configuration
// problem, reported as such, not a down member.
import { describe, expect, it } from 'vitest';
import { classifyProbe } from '../../cluster-mgr/adapters/kube';

describe('classifyProbe', () => {
  it.each([
    [{ status: 401 }, 'auth', /authentication failed \(HTTP 401 Unauthorized\)/],
    [{ status: 403 }, 'auth', /authorization failed \(HTTP 403 Forbidden\)/],
    [{ status: 500 }, 'unready', /readyz: HTTP 500/],
    [{ status: 503, message: 'etcd failed' }, 'unready', /readyz: HTTP 503 etcd failed/],
    [{ reason: 'Timeout', message: 'GET /readyz: timed out after 800 ms' }, 'timeout', /timed out after 800 ms/],
    [{ code: 'ECONNREFUSED', message: 'GET /readyz: ECONNREFUSED' }, 'unreachable', /ECONNREFUSED/],
    [{ code: 'EHOSTUNREACH' }, 'unreachable', /EHOSTUNREACH/],
    [{ code: 'ECONNRESET' }, 'unreachable', /ECONNRESET/],
    [{ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }, 'tls', /TLS: UNABLE_TO_VERIFY_LEAF_SIGNATURE/],
    [{ code: 'SELF_SIGNED_CERT_IN_CHAIN' }, 'tls', /TLS: SELF_SIGNED_CERT_IN_CHAIN/],
    [{ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }, 'tls', /TLS/],
    [{ code: 'ERR_TLS_CERT_ALTNAME_INVALID' }, 'tls', /TLS/],
    [{ message: 'something else' }, 'error', /something else/],
  ] as const)('%j → %s', (input, problem, reason) => {
    const r = classifyProbe(input);
    expect(r.problem).toBe(problem);
    expect(r.reason).toMatch(reason);
  });

  it('never calls a 401 or 403 "unready", "unreachable" or "down"', () => {
    for (const status of [401, 403]) expect(classifyProbe({ status }).reason).not.toMatch(/unready|unreachable|down/i);
  });
});
