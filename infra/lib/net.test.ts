import { describe, expect, it } from 'vitest';
import { cidrContains, cidrsOverlap, formatCidr, parseCidr, parseHostPort, parseIPv4 } from './net';
import { parseDuration, parseQuantity } from './units';

describe('net', () => {
  it.each([
    ['10.0.0.1', 0x0a000001],
    ['255.255.255.255', 0xffffffff],
    ['0.0.0.0', 0],
    ['256.0.0.1', undefined],
    ['10.0.0', undefined],
    ['10.0.0.01', undefined],
    ['a.b.c.d', undefined],
  ])('parseIPv4(%s)', (text, want) => expect(parseIPv4(text)).toBe(want));

  it.each([
    ['10.244.0.0/16', '10.96.0.0/12', false],
    ['10.244.0.0/16', '10.244.128.0/17', true],
    ['10.0.0.0/8', '10.96.0.0/12', true],
    ['192.168.0.0/24', '192.168.1.0/24', false],
    ['0.0.0.0/0', '1.2.3.4/32', true],
  ])('overlap %s %s', (a, b, want) => {
    expect(cidrsOverlap(parseCidr(a)!, parseCidr(b)!)).toBe(want);
    expect(cidrsOverlap(parseCidr(b)!, parseCidr(a)!)).toBe(want);
  });

  it('contains and formats', () => {
    const c = parseCidr('10.10.1.100/24')!;
    expect(formatCidr(c)).toBe('10.10.1.0/24');
    expect(cidrContains(c, parseIPv4('10.10.1.7')!)).toBe(true);
    expect(cidrContains(c, parseIPv4('10.10.2.7')!)).toBe(false);
    expect(parseCidr('10.0.0.0/33')).toBeUndefined();
    expect(parseCidr('10.0.0.0')).toBeUndefined();
  });

  it('host:port', () => {
    expect(parseHostPort('10.0.0.1:6789')).toEqual({ host: '10.0.0.1', port: 6789 });
    expect(parseHostPort('10.0.0.1:0')).toBeUndefined();
    expect(parseHostPort('10.0.0.1')).toBeUndefined();
  });
});

describe('units', () => {
  it.each([
    ['500ms', 500],
    ['10s', 10_000],
    ['1m30s', 90_000],
    ['1.5s', 1500],
    ['2h', 7_200_000],
    ['10', undefined],
    ['s', undefined],
    ['-1s', undefined],
  ])('parseDuration(%s)', (t, want) => expect(parseDuration(t)).toBe(want));

  it.each([
    ['500m', 0.5],
    ['2', 2],
    ['512Mi', 512 * 1024 ** 2],
    ['1Gi', 1024 ** 3],
    ['1k', 1000],
    ['x', undefined],
    ['1e3', 1000],
    ['.5', 0.5],
    ['-1', undefined],
  ] as const)('parseQuantity(%s)', (t, want) => expect(parseQuantity(t)).toBe(want));

  it('parseQuantity: nano and micro suffixes', () => {
    expect(parseQuantity('100n')).toBeCloseTo(1e-7, 15);
    expect(parseQuantity('250u')).toBeCloseTo(2.5e-4, 12);
  });
});
