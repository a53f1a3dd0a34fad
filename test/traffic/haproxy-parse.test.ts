// Pure parts of the HAProxy switch: `show servers state` parsing, state/weight/check mapping, merging
// over backends, and a clean error when the runtime API is not there.
import { describe, expect, it } from 'vitest';
import { HaproxySwitch, mergeMemberTraffic, parseServersState, toMemberTraffic, type HaproxyServerState } from '../../cluster-mgr/adapters/haproxy';

const SAMPLE = `1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port
3 web 1 a 127.0.0.1 2 8 100 100 5 6 3 4 6 0 0 0 - 18081 - 0 0 - - 0
3 web 2 b 127.0.0.1 0 1 1 1 0 8 2 0 14 0 0 0 - 18082 - 0 0 - - 0
3 web 3 c 127.0.0.1 2 0 7 1 1 1 0 2 0 0 0 0 - 18083 - 0 0 - - 0
3 web 4 d 127.0.0.1 0 0 1 1 1 8 2 0 6 0 0 0 - 18084 - 0 0 - - 0
`;

describe('show servers state', () => {
  it('parses rows by header names', () => {
    const rows = parseServersState(SAMPLE);
    expect(rows.map((r) => [r.server, r.opState, r.adminState, r.userWeight, r.checkState])).toEqual([
      ['a', 2, 8, 100, 6],
      ['b', 0, 1, 1, 14],
      ['c', 2, 0, 7, 0],
      ['d', 0, 0, 1, 6],
    ]);
    expect(rows[0]!.port).toBe(18081);
  });
  it.each([
    ['a', { state: 'drain', weight: 100, checkUp: true }],
    ['b', { state: 'maint', weight: 1 }], // check paused in maintenance: no verdict
    ['c', { state: 'ready', weight: 7 }], // no check configured: no verdict
    ['d', { state: 'ready', weight: 1, checkUp: false }],
  ])('%s → %j', (name, want) => {
    expect(toMemberTraffic(parseServersState(SAMPLE).find((r) => r.server === name) as HaproxyServerState)).toEqual(want);
  });
  it('rejects foreign output', () => {
    expect(() => parseServersState("Can't find backend.\n")).toThrow(/unexpected "show servers state" output/);
  });
  it('merges backends most-restrictive', () => {
    expect(mergeMemberTraffic([{ state: 'ready', weight: 100, checkUp: true }, { state: 'drain', weight: 50, checkUp: false }])).toEqual({ state: 'drain', weight: 50, checkUp: false });
    expect(mergeMemberTraffic([{ state: 'ready', weight: 10 }])).toEqual({ state: 'ready', weight: 10 });
    expect(mergeMemberTraffic([])).toBeUndefined();
  });
  it('an absent runtime API is a clean error naming the socket', async () => {
    const sw = new HaproxySwitch({ socket: '/nonexistent/admin.sock', backends: ['web'] });
    await expect(sw.set('a', 'drain')).rejects.toThrow(/runtime API \/nonexistent\/admin\.sock: connect ENOENT/);
    expect(() => new HaproxySwitch({ socket: '/x', backends: [] })).toThrow(/haproxy\.backends: give at least one backend name/);
  });
});
