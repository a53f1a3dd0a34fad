import { describe, expect, it } from 'vitest';
import { MemberHistory, RingBuffer } from './history';

describe('RingBuffer', () => {
  it('keeps the newest `capacity` items in order and drops from the oldest end', () => {
    const b = new RingBuffer<number>(3);
    for (const n of [1, 2, 3, 4, 5]) b.push(n);
    expect(b.toArray()).toEqual([3, 4, 5]);
    expect(b.last()).toBe(5);
    b.dropWhile((n) => n < 5);
    expect(b.toArray()).toEqual([5]);
    b.push(6);
    expect(b.toArray()).toEqual([5, 6]);
  });
});

describe('MemberHistory', () => {
  const sample = (t: number, health = 'Healthy', weight = 256, replicas = 3) => ({ t, health, weight, replicas });

  it('keeps a sample when a value changed or everyMs passed, and only the window', () => {
    const h = new MemberHistory({ windowMs: 10_000, everyMs: 5000, capacity: 100 });
    h.record('a', sample(0));
    h.record('a', sample(1000)); // unchanged, too soon: skipped
    h.record('a', sample(2000, 'Suspect')); // changed: kept
    h.record('a', sample(7000, 'Suspect')); // everyMs passed: kept
    h.record('a', sample(15_000, 'Suspect', 0, 0)); // changed; 0 and 2000 fall out of the window
    expect(h.view()).toEqual({ windowMs: 10_000, members: { a: { t: [7000, 15_000], health: ['Suspect', 'Suspect'], weight: [256, 0], replicas: [3, 0] } } });
  });

  it('is bounded by capacity', () => {
    const h = new MemberHistory({ windowMs: 1e9, everyMs: 1, capacity: 4 });
    for (let t = 0; t < 10; t++) h.record('a', sample(t * 10));
    expect(h.view().members.a!.t).toEqual([60, 70, 80, 90]);
  });
});
