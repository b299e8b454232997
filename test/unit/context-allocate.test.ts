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
    const a = allocate(input());
    expect(a).toEqual({ retrieved: 500, summary: 100, recalled: 200, window: 200 });
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
