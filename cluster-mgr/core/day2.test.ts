// judgeDay2: what a day-2 result means — status and alert decision — as a table.
import { describe, expect, it } from 'vitest';
import { AlertName } from '../contracts/alerts';
import { judgeDay2, type Day2Result } from './day2';

const r = (severity: Day2Result['severity']): Day2Result => ({ check: 'registry-tls', kind: 'certExpiry', target: '10.0.0.5:443', severity, message: `m-${severity}` });

describe('judgeDay2', () => {
  it.each([
    // severity, status, fires, resolves
    ['pass', 'ok', undefined, [AlertName.Day2CheckWarning, AlertName.Day2CheckFailed]],
    ['warn', 'warn', AlertName.Day2CheckWarning, [AlertName.Day2CheckFailed]],
    ['fail', 'fail', AlertName.Day2CheckFailed, [AlertName.Day2CheckWarning]],
    ['skip', 'unknown', undefined, []],
  ] as const)('%s → status %s, fires %s, resolves %j', (severity, status, fires, resolves) => {
    const v = judgeDay2(r(severity));
    expect(v.status).toBe(status);
    expect(v.fire?.name).toBe(fires);
    expect(v.resolve.map((a) => a.name)).toEqual(resolves);
    // Never fire and resolve the same alert in one verdict.
    if (v.fire) expect(v.resolve.map((a) => a.name)).not.toContain(v.fire.name);
  });

  it('alerts carry check, kind and target as labels (their identity) and the message as description', () => {
    const v = judgeDay2(r('fail'));
    expect(v.fire).toEqual({
      name: 'FederationDay2CheckFailed',
      severity: 'critical',
      labels: { check: 'registry-tls', kind: 'certExpiry', target: '10.0.0.5:443' },
      summary: 'day-2 check registry-tls (certExpiry) fails for 10.0.0.5:443',
      description: 'm-fail',
    });
    expect(judgeDay2(r('warn')).fire).toMatchObject({ severity: 'warning', labels: { check: 'registry-tls', kind: 'certExpiry', target: '10.0.0.5:443' } });
  });

  it('a pass resolves alerts with the same identity as the ones a failure fired', () => {
    const fired = judgeDay2(r('fail')).fire!;
    const resolved = judgeDay2(r('pass')).resolve.find((a) => a.name === fired.name)!;
    expect(resolved.labels).toEqual(fired.labels);
  });
});
