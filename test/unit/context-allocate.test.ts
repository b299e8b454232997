import { allocate, type AllocationInput } from '../../src/context/allocate';
import { AppError } from '../../src/errors';

const input = (over: Partial<AllocationInput> = {}): AllocationInput => ({
  available: 1000,
  shares: { retrieved: 0.5, summary: 0.1, recalled: 0.2 },
  needs: { retrieved: 10_000, summary: 10_000, recalled: 10_000 },
  ...over,
});

const total = (a: ReturnType<typeof allocate>) => a.retrieved + a.summary + a.recalled + a.window;

describe('allocate', () => {
  test('When every part needs more than its share, then each gets its share and the window the rest', () => {
    const a = allocate(input({ needs: { retrieved: 10_000, summary: 100, recalled: 10_000 } }));
    expect(a).toEqual({ retrieved: 500, summary: 100, recalled: 200, window: 200 });
  });

  test('When the summary cannot get its whole need, then it gets nothing and its share flows to the others', () => {
    const a = allocate(input());
    // The summary's 100 (it needs 10,000 and is never cut): retrieved 100 * 0.5 / 0.7 = 71, recalled 28, window 1 more.
    expect(a).toEqual({ retrieved: 571, summary: 0, recalled: 228, window: 201 });
  });

  test('When a part needs less than its share, then what it leaves flows to hungry parts by share', () => {
    const a = allocate(input({ needs: { retrieved: 10_000, summary: 40, recalled: 10_000 } }));
    // summary leaves 60: retrieved gets 60 * 0.5 / 0.7 = 42, recalled 60 * 0.2 / 0.7 = 17 (floored), window the rest.
    expect(a.summary).toBe(40);
    expect(a.retrieved).toBe(542);
    expect(a.recalled).toBe(217);
    expect(a.window).toBe(1000 - 542 - 40 - 217);
  });

  test('When a part that receives flow becomes satisfied, then its surplus flows on until stable', () => {
    const a = allocate(input({ needs: { retrieved: 10_000, summary: 0, recalled: 210 } }));
    expect(a.summary).toBe(0);
    expect(a.recalled).toBe(210);
    // summary's 100: recalled takes 10 of its 28, retrieved the rest of the 100.
    expect(a.retrieved).toBe(590);
    expect(a.window).toBe(200);
  });

  test('When retrieval needs nothing (no documents), then its share goes to recall first, then by share', () => {
    const a = allocate(input({ needs: { retrieved: 0, summary: 100, recalled: 10_000 } }));
    expect(a).toEqual({ retrieved: 0, summary: 100, recalled: 700, window: 200 });
    // Recall needs only part of it: the rest flows by share (the summary is the only hungry part left).
    const b = allocate(input({ needs: { retrieved: 0, summary: 500, recalled: 300 } }));
    expect(b).toEqual({ retrieved: 0, summary: 500, recalled: 300, window: 200 });
  });

  test('When recall has no share, then retrieval leaves nothing to it', () => {
    const a = allocate(
      input({ shares: { retrieved: 0.5, summary: 0.1, recalled: 0 }, needs: { retrieved: 0, summary: 600, recalled: 10_000 } }),
    );
    expect(a.recalled).toBe(0);
    expect(a.summary).toBe(600);
  });

  test('When the window needs less than its rest, then the surplus flows to hungry parts by share', () => {
    const a = allocate(input({ needs: { retrieved: 10_000, summary: 10_000, recalled: 10_000 }, windowNeed: 50 }));
    // The window's 200 leave 150: retrieved gets 150 * 0.5 / 0.8 = 93, summary 18, recalled 37 (floored), then the
    // remaining 2 once more by share until flooring hands out nothing.
    expect(a.window).toBeGreaterThanOrEqual(50);
    expect(a.window).toBeLessThanOrEqual(53);
    expect(a.retrieved).toBeGreaterThanOrEqual(593);
    expect(a.recalled).toBeGreaterThanOrEqual(237);
    expect(total(a)).toBe(1000);
  });

  test('When the window needs less but no part is hungry, then the window keeps the rest', () => {
    const a = allocate(input({ needs: { retrieved: 0, summary: 0, recalled: 0 }, windowNeed: 50 }));
    expect(a).toEqual({ retrieved: 0, summary: 0, recalled: 0, window: 1000 });
  });

  test('When nothing needs tokens, then the window gets everything', () => {
    const a = allocate(input({ needs: { retrieved: 0, summary: 0, recalled: 0 } }));
    expect(a).toEqual({ retrieved: 0, summary: 0, recalled: 0, window: 1000 });
  });

  test('When shares sum to 1, then grants never exceed the available tokens nor the needs', () => {
    for (const available of [0, 1, 7, 99, 1000, 12_345]) {
      const a = allocate(
        input({
          available,
          shares: { retrieved: 0.34, summary: 0.33, recalled: 0.33 },
          needs: { retrieved: 5000, summary: 3, recalled: 400 },
        }),
      );
      expect(total(a)).toBe(available);
      expect(a.window).toBeGreaterThanOrEqual(0);
      expect(a.summary).toBeLessThanOrEqual(3);
      expect(a.recalled).toBeLessThanOrEqual(400);
    }
  });

  test('When shares sum to more than 1, then it throws invalid_request', () => {
    expect(() => allocate(input({ shares: { retrieved: 0.6, summary: 0.3, recalled: 0.2 } }))).toThrow(AppError);
    expect(() => allocate(input({ shares: { retrieved: -0.1, summary: 0.3, recalled: 0.2 } }))).toThrow(/between 0 and 1/);
  });
});
