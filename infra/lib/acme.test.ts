import { describe, expect, it } from 'vitest';
import { challengeRecord, parseTsigKey, selectSolver, siteSolvers, tsigKeyProblems, tsigSecretOf, type SolverChoice } from './acme';

const dns = (selector?: SolverChoice['selector']): SolverChoice => ({ type: 'dns01', ...(selector ? { selector } : {}) });
const http = (selector?: SolverChoice['selector']): SolverChoice => ({ type: 'http01', ...(selector ? { selector } : {}) });

describe('selectSolver (cert-manager precedence)', () => {
  it.each<[string, string, SolverChoice[], number | undefined]>([
    ['wildcard in the zone', '*.sh1.example.com', [dns({ dnsZones: ['sh1.example.com'] }), http()], 0],
    ['apex is in its own zone', 'sh1.example.com', [dns({ dnsZones: ['sh1.example.com'] }), http()], 0],
    ['outside the zone falls back to the default', 'registry.other.org', [dns({ dnsZones: ['sh1.example.com'] }), http()], 1],
    ['a zone is a suffix on a label boundary only', '*.xsh1.example.com', [dns({ dnsZones: ['sh1.example.com'] }), http()], 1],
    ['the longest zone wins', 'a.b.example.com', [dns({ dnsZones: ['example.com'] }), http({ dnsZones: ['b.example.com'] })], 1],
    ['dnsNames beat dnsZones', 'a.example.com', [dns({ dnsZones: ['a.example.com'] }), http({ dnsNames: ['a.example.com'] })], 1],
    ['ties go to the earlier solver', 'a.example.com', [dns({ dnsZones: ['example.com'] }), http({ dnsZones: ['example.com'] })], 0],
    ['a default listed first still loses to a zone', '*.example.com', [http(), dns({ dnsZones: ['example.com'] })], 1],
    ['no match and no default', 'x.org', [dns({ dnsZones: ['example.com'] })], undefined],
    ['an empty selector is a default', 'x.org', [dns({})], 0],
  ])('%s', (_n, name, solvers, want) => {
    expect(selectSolver(name, solvers)).toBe(want);
  });
  it('siteSolvers: DNS-01 for the zones first, HTTP-01 last when kept', () => {
    expect(siteSolvers({ dns01: true, dnsZones: ['a.io'], http01: true })).toEqual([dns({ dnsZones: ['a.io'] }), http()]);
    expect(siteSolvers({ dns01: false, dnsZones: ['a.io'], http01: true })).toEqual([http()]);
    expect(siteSolvers({ dns01: true, dnsZones: ['a.io'], http01: false })).toEqual([dns({ dnsZones: ['a.io'] })]);
  });
  it('challenge record of a name and of its wildcard is the same', () => {
    expect(challengeRecord('sh1.example.com')).toBe('_acme-challenge.sh1.example.com');
    expect(challengeRecord('*.sh1.example.com')).toBe('_acme-challenge.sh1.example.com');
  });
});

describe('TSIG keys (flotilla:tsigKey)', () => {
  const file = 'key "acme-sh1" {\n\talgorithm hmac-sha256;\n\tsecret "c2VjcmV0LWZvci10ZXN0cw==";\n};\n';
  it.each<[string, string, ReturnType<typeof parseTsigKey>]>([
    ['tsig-keygen output', file, { name: 'acme-sh1', algorithm: 'hmac-sha256', secret: 'c2VjcmV0LWZvci10ZXN0cw==' }],
    ['a bare base64 secret', ' c2VjcmV0LWZvci10ZXN0cw==\n', { secret: 'c2VjcmV0LWZvci10ZXN0cw==' }],
    ['an unquoted, dotted key name', 'key acme. { algorithm HMAC-SHA512; secret "YWJjZA=="; };', { name: 'acme', algorithm: 'hmac-sha512', secret: 'YWJjZA==' }],
    ['no secret', 'key "a" { algorithm hmac-sha256; };', undefined],
    ['a secret that is not base64', 'key "a" { secret "not base64!"; };', undefined],
    ['base64 of the wrong length', 'abc', undefined],
    ['anything else', 'hello world', undefined],
  ])('%s', (_n, text, want) => {
    expect(parseTsigKey(text)).toEqual(want);
  });
  it('tsigSecretOf gives the base64 secret cert-manager needs', () => {
    expect(tsigSecretOf(file)).toBe('c2VjcmV0LWZvci10ZXN0cw==');
  });
  it('problems name the setting, not the secret', () => {
    expect(tsigKeyProblems(file, 'acme-sh1', 'HMACSHA256')).toEqual([]);
    expect(tsigKeyProblems(file, 'acme-sh1.', 'HMACSHA256')).toEqual([]);
    expect(tsigKeyProblems('c2VjcmV0LWZvci10ZXN0cw==', 'anything', 'HMACSHA512')).toEqual([]);
    const bad = tsigKeyProblems(file, 'other', 'HMACSHA512');
    expect(bad).toEqual([expect.stringMatching(/names key "acme-sh1" but .*tsigKeyName is "other"/), expect.stringMatching(/uses hmac-sha256 but .*tsigAlgorithm is HMACSHA512 \(hmac-sha512\)/)]);
    expect(bad.join()).not.toContain('c2VjcmV0');
    expect(tsigKeyProblems('nope', 'k', 'HMACSHA256').concat(tsigKeyProblems('not a key!', 'k', 'HMACSHA256'))[0]).toMatch(/neither a tsig-keygen key file nor a base64 TSIG secret/);
  });
});
