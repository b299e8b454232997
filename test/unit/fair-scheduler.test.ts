import { FairScheduler } from '../../src/tenancy/fair-scheduler';

const never = () => undefined;

describe('FairScheduler', () => {
  it('When places are taken, then waiting tenants are served round-robin, and a tenant with nothing running goes in at once', async () => {
    const s = new FairScheduler({ maxInflight: 2, maxQueuedPerTenant: 100 });
    const order: string[] = [];
    const track = (name: string, p: Promise<() => void>) => p.then((release) => (order.push(name), release));
    const a1 = await s.enter('a', never);
    const a2 = await s.enter('a', never);
    const a3 = track('a3', s.enter('a', never));
    const a4 = track('a4', s.enter('a', never));
    const a5 = track('a5', s.enter('a', never));
    // B has nothing running: in at once, one past the limit.
    const b1 = await s.enter('b', never);
    expect(s.stats()).toEqual({ inflight: 3, waiting: 3 });
    const b2 = track('b2', s.enter('b', never));
    b1();
    a1();
    (await a3)();
    a2();
    // With A's line formed first, the freed places went to a3, then to b2 before A's next: turns, not arrival order.
    (await b2)();
    (await a4)();
    (await a5)();
    expect(order).toEqual(['a3', 'b2', 'a4', 'a5']);
    expect(s.stats()).toEqual({ inflight: 0, waiting: 0 });
  });

  it('When a tenant has too many requests waiting, then the next answers 429 too_many_requests', async () => {
    const s = new FairScheduler({ maxInflight: 1, maxQueuedPerTenant: 2 });
    const first = await s.enter('a', never);
    const queued = [s.enter('a', never), s.enter('a', never)];
    await expect(s.enter('a', never)).rejects.toMatchObject({ code: 'too_many_requests', status: 429, headers: { 'Retry-After': '1' } });
    first();
    (await queued[0])();
    (await queued[1])();
    expect(s.stats()).toEqual({ inflight: 0, waiting: 0 });
  });

  it('When a waiting client goes away, then its place in line is given up', async () => {
    const s = new FairScheduler({ maxInflight: 1, maxQueuedPerTenant: 10 });
    const first = await s.enter('a', never);
    let cancel: () => void = never;
    let admitted = false;
    void s.enter('a', (c) => (cancel = c)).then(() => (admitted = true));
    const next = s.enter('a', never);
    cancel();
    first();
    (await next)();
    expect(admitted).toBe(false);
    expect(s.stats()).toEqual({ inflight: 0, waiting: 0 });
  });

  it('When turned off (0), then it says so and the middleware lets everything through', () => {
    expect(new FairScheduler({ maxInflight: 0, maxQueuedPerTenant: 1 }).enabled).toBe(false);
  });
});
