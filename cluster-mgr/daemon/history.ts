// The daemon's own recent history per member (health, traffic weight, replicas), for the dashboard's
// charts: a bounded ring buffer per member. A sample is kept when a value changed or `everyMs` has
// passed since the last one; samples older than `windowMs` are dropped, and never more than
// `capacity` are held (the oldest goes first).

export interface MemberSample {
  /** Wall-clock ms. */
  readonly t: number;
  readonly health: string;
  readonly weight: number;
  /** Replicas of this federation's apps running on the member (sum over apps). */
  readonly replicas: number;
}

/** `/api/state` `history`: column arrays per member, oldest first. */
export interface HistoryView {
  readonly windowMs: number;
  readonly members: Record<string, { t: number[]; health: string[]; weight: number[]; replicas: number[] }>;
}

export class RingBuffer<T> {
  private readonly items: (T | undefined)[];
  private start = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    this.items = new Array<T | undefined>(capacity);
  }

  push(item: T): void {
    this.items[(this.start + this.size) % this.capacity] = item;
    if (this.size < this.capacity) this.size++;
    else this.start = (this.start + 1) % this.capacity;
  }

  /** Drops items from the oldest end while `pred` holds. */
  dropWhile(pred: (item: T) => boolean): void {
    while (this.size > 0 && pred(this.items[this.start]!)) {
      this.items[this.start] = undefined;
      this.start = (this.start + 1) % this.capacity;
      this.size--;
    }
  }

  last(): T | undefined {
    return this.size === 0 ? undefined : this.items[(this.start + this.size - 1) % this.capacity];
  }

  toArray(): T[] {
    return Array.from({ length: this.size }, (_, i) => this.items[(this.start + i) % this.capacity]!);
  }
}

export class MemberHistory {
  private readonly buffers = new Map<string, RingBuffer<MemberSample>>();

  constructor(
    private readonly o: { readonly windowMs: number; readonly everyMs: number; readonly capacity: number } = { windowMs: 15 * 60_000, everyMs: 5000, capacity: 400 },
  ) {}

  record(member: string, s: MemberSample): void {
    let buf = this.buffers.get(member);
    if (!buf) this.buffers.set(member, (buf = new RingBuffer(this.o.capacity)));
    const last = buf.last();
    const changed = !last || last.health !== s.health || last.weight !== s.weight || last.replicas !== s.replicas;
    if (changed || s.t - last.t >= this.o.everyMs) buf.push(s);
    buf.dropWhile((x) => x.t < s.t - this.o.windowMs);
  }

  view(): HistoryView {
    const members: HistoryView['members'] = {};
    for (const [name, buf] of this.buffers) {
      const xs = buf.toArray();
      members[name] = { t: xs.map((x) => x.t), health: xs.map((x) => x.health), weight: xs.map((x) => x.weight), replicas: xs.map((x) => x.replicas) };
    }
    return { windowMs: this.o.windowMs, members };
  }
}
