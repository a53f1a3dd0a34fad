import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { initialHealth, nextHealth, type HealthState, type MemberHealth, type Observation } from './health';

const P = { failureThreshold: 3, successThreshold: 3, failbackAfterMs: 10_000 };
const ok: Observation = { ok: true };
const bad: Observation = { ok: false, reason: 'readyz: connection refused' };

/** Runs a probe sequence one second apart; returns the state after each probe and all event types. */
function run(seq: string, params = P, start: MemberHealth = initialHealth(0)) {
  let h = start;
  const states: HealthState[] = [];
  const events: string[] = [];
  [...seq].forEach((c, i) => {
    const r = nextHealth(h, c === '+' ? ok : bad, (i + 1) * 1000, params);
    h = r.health;
    states.push(h.state);
    events.push(...r.events.map((e) => e.type));
  });
  return { h, states, events };
}

describe('health state machine', () => {
  it.each([
    ['+++', 'Healthy', []],
    ['-', 'Suspect', ['suspect']],
    ['-+', 'Healthy', ['suspect', 'cleared']],
    ['--', 'Suspect', ['suspect']],
    ['---', 'Unhealthy', ['suspect', 'unhealthy']],
    ['--+-', 'Suspect', ['suspect', 'cleared', 'suspect']],
    ['---+', 'Recovering', ['suspect', 'unhealthy', 'recovering']],
    ['---+-', 'Unhealthy', ['suspect', 'unhealthy', 'recovering', 'relapsed']],
    // 3 successes but failbackAfter (10 s) not yet passed since the first success
    ['---+++', 'Recovering', ['suspect', 'unhealthy', 'recovering']],
    ['---' + '+'.repeat(11), 'Healthy', ['suspect', 'unhealthy', 'recovering', 'recovered']],
  ] as const)('%s → %s', (seq, state, events) => {
    const r = run(seq);
    expect(r.h.state).toBe(state);
    expect(r.events).toEqual(events);
  });

  it('failureThreshold 1 goes straight to Unhealthy', () => {
    expect(run('-', { ...P, failureThreshold: 1 }).h.state).toBe('Unhealthy');
  });

  it('keeps the failure reason for the API', () => {
    expect(run('---').h.reason).toBe('readyz: connection refused');
  });

  it('flapping every second never fails over more than once and never fails back while flapping', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 200 }), (flaps) => {
        const r = run(flaps.map((b) => (b ? '+' : '-')).join('') + '+'.repeat(12));
        const unhealthy = r.events.filter((e) => e === 'unhealthy').length;
        const recovered = r.events.filter((e) => e === 'recovered').length;
        // after a long-enough stable tail it ends Healthy, having recovered once per failover episode
        expect(r.h.state).toBe('Healthy');
        expect(recovered).toBeLessThanOrEqual(unhealthy);
      }),
    );
    // strict alternation (the flap) with threshold 3 never reaches Unhealthy at all
    expect(run('-+'.repeat(30)).events.filter((e) => e === 'unhealthy')).toHaveLength(0);
    // a flap with pairs of failures after one failover: Recovering is interrupted → one failover, one failback
    const r = run('---' + '+-'.repeat(30) + '+'.repeat(12));
    expect(r.events.filter((e) => e === 'recovered')).toHaveLength(1);
    expect(r.events.filter((e) => e === 'unhealthy')).toHaveLength(1);
    expect(r.events.filter((e) => e === 'recovering').length).toBeGreaterThan(1);
  });

  describe('AuthFailed (401/403: cluster-mgr\'s credentials, not an outage)', () => {
    const auth: Observation = { ok: false, reason: 'authentication failed (HTTP 401 Unauthorized)', problem: 'auth' };
    const step = (h: MemberHealth, o: Observation, t: number) => nextHealth(h, o, t, P);
    it.each<[string, HealthState]>([
      ['Healthy', 'Healthy'],
      ['Suspect', 'Suspect'],
      ['Unhealthy', 'Unhealthy'],
      ['Recovering', 'Recovering'],
    ])('from %s: AuthFailed at once, no failure counted', (_, from) => {
      const start: MemberHealth = { state: from, failures: 2, successes: 1, since: 0 };
      const r = step(start, auth, 1000);
      expect(r.health).toMatchObject({ state: 'AuthFailed', failures: 0 });
      expect(r.events.map((e) => e.type)).toEqual(['auth-failed']);
    });
    it('many 401s never make it Unhealthy; a success makes it Healthy again', () => {
      let h = initialHealth(0);
      for (let i = 1; i <= 20; i++) h = step(h, auth, i * 1000).health;
      expect(h.state).toBe('AuthFailed');
      const back = step(h, ok, 21_000);
      expect(back.health.state).toBe('Healthy');
      expect(back.events.map((e) => e.type)).toEqual(['auth-ok']);
    });
    it('a real outage after AuthFailed is counted as from Healthy', () => {
      let h = step(initialHealth(0), auth, 1000).health;
      const states: HealthState[] = [];
      for (let i = 2; i <= 4; i++) states.push((h = step(h, bad, i * 1000).health).state);
      expect(states).toEqual(['Suspect', 'Suspect', 'Unhealthy']);
    });
  });
});
