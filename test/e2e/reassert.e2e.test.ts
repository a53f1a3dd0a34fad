// The front HAProxy restarts (runtime changes lost: weights back to the config's 100): the daemon
// raises FederationTrafficSwitchFailed while the runtime API is gone, and once HAProxy is back it
// re-asserts its state from what it observes (weights 256, a drained member drained again) and
// resolves the alert.
import { describe, expect, it } from 'vitest';
import { haproxyCommand } from '../../cluster-mgr/adapters/haproxy';
import { requireTools, startDaemon, waitFor, type Daemon } from '../lab/index';
import { useStack, withFault } from './use-stack';

describe('front HAProxy restart: alert, then re-assert', () => {
  let restarted: Daemon | undefined;
  const stack = useStack(['haproxy'], { health: { interval: '250ms', timeout: '200ms', failureThreshold: 3, successThreshold: 2, failbackAfter: '1s' } }, async () => restarted?.stop());

  it('re-asserts weights and the drain after a restart; TrafficSwitchFailed fired then resolved', async (ctx) => {
    requireTools(ctx, ['haproxy']);
    const s = stack()!;
    await withFault(s, 'sh1-b', 'down', async () => {
      await waitFor(async () => (await s.front())['sh1-b']?.state === 'drain', { what: 'sh1-b drained', timeoutMs: 5000, intervalMs: 20 });
      await s.haproxy.stop();
      const switchFailed = async () => (await s.state()).alerts.some((a) => a.name === 'FederationTrafficSwitchFailed');
      await waitFor(switchFailed, { what: 'FederationTrafficSwitchFailed while the runtime API is gone', timeoutMs: 5000 });
      restarted = startDaemon({ name: 'front-haproxy-2', command: 'haproxy', args: ['-db', '-f', s.sim.haproxyFile!] });
      await waitFor(async () => (await haproxyCommand(s.socket, 'show info').catch(() => '')).includes('Pid:'), { what: 'HAProxy back', timeoutMs: 5000 });
      const t0 = performance.now();
      await waitFor(
        async () => {
          const f = await s.front();
          return f['sh1-a']?.state === 'ready' && f['sh1-a']?.weight === 256 && f['sh1-b']?.state === 'drain';
        },
        { what: 'state re-asserted after the restart (sh1-a 256, sh1-b drained)', timeoutMs: 5000, intervalMs: 20 },
      );
      console.log(`re-asserted ${Math.round(performance.now() - t0)} ms after HAProxy answered again`);
      await waitFor(async () => !(await switchFailed()), { what: 'FederationTrafficSwitchFailed resolved', timeoutMs: 5000 });
    });
    await waitFor(async () => (await s.front())['sh1-b']?.weight === 256, { what: 'sh1-b back at full weight', timeoutMs: 20_000, intervalMs: 50 });
    expect((await s.front())['sh1-b']?.state).toBe('ready');
  }, 60_000);
});
