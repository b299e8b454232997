import { ByteBudget } from '../../src/infra/byte-budget';

/** A claim that resolves only when the test says so, recording when it started. */
function gate(budget: ByteBudget, bytes: number, log: string[], name: string) {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const done = budget.use(bytes, async () => {
    log.push(`start ${name}`);
    await opened;
    log.push(`end ${name}`);
  });
  return { open, done };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('ByteBudget', () => {
  it('When claims exceed the budget, then later ones wait, in arrival order, and never hold more than the limit', async () => {
    const budget = new ByteBudget(100);
    const log: string[] = [];
    const a = gate(budget, 60, log, 'a');
    const b = gate(budget, 60, log, 'b');
    const c = gate(budget, 10, log, 'c'); // fits beside a, but arrived after b: it waits its turn
    await tick();
    expect(log).toEqual(['start a']);
    expect(budget.inUse()).toBe(60);
    a.open();
    await a.done;
    await tick();
    expect(log).toEqual(['start a', 'end a', 'start b', 'start c']);
    expect(budget.inUse()).toBe(70);
    b.open();
    c.open();
    await Promise.all([b.done, c.done]);
    expect(budget.inUse()).toBe(0);
  });

  it('When one claim is larger than the whole budget, then it runs alone rather than never', async () => {
    const budget = new ByteBudget(100);
    const log: string[] = [];
    const small = gate(budget, 10, log, 'small');
    const huge = gate(budget, 500, log, 'huge');
    await tick();
    expect(log).toEqual(['start small']);
    small.open();
    await small.done;
    await tick();
    expect(log).toEqual(['start small', 'end small', 'start huge']);
    expect(budget.inUse()).toBe(500);
    huge.open();
    await huge.done;
    expect(budget.inUse()).toBe(0);
  });

  it('When the work throws, then its bytes are given back', async () => {
    const budget = new ByteBudget(100);
    await expect(budget.use(80, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(budget.inUse()).toBe(0);
  });
});
