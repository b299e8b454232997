import { AppError } from '../../src/errors';
import { retryWithBackoff } from '../../src/gateway/safety/retry';
import { costUsd } from '../../src/gateway/safety/pricing';
import { dayRange, utcDay } from '../../src/gateway/safety/usage-meter';

const transient = (retryAfterMs?: number) =>
  new AppError('upstream_unavailable', 'try later', retryAfterMs === undefined ? undefined : { retryAfterMs }, { retryable: true });
const permanent = () => new AppError('invalid_request', 'bad');

/** fn failing with the given errors in turn, then answering 'ok'. */
function failing(...errors: unknown[]) {
  const calls: number[] = [];
  const fn = async (attempt: number) => {
    calls.push(attempt);
    if (errors.length) throw errors.shift();
    return 'ok';
  };
  return { fn, calls };
}

describe('retryWithBackoff', () => {
  it('When transient failures are followed by success, then it retries and returns the result', async () => {
    const { fn, calls } = failing(transient(), transient());
    const delays: number[] = [];
    const out = await retryWithBackoff(fn, { attempts: 3, baseMs: 4, maxMs: 100, random: () => 1, onRetry: (i) => delays.push(i.delayMs) });
    expect(out).toBe('ok');
    expect(calls).toEqual([1, 2, 3]);
    expect(delays).toEqual([4, 8]); // exponential, full jitter at its top (random = 1)
  });

  it('When jitter is drawn, then each delay lies in [0, min(maxMs, base*2^n))', async () => {
    const { fn } = failing(transient(), transient(), transient(), transient());
    const delays: number[] = [];
    await retryWithBackoff(fn, { attempts: 5, baseMs: 10, maxMs: 25, random: () => 0.5, onRetry: (i) => delays.push(i.delayMs) });
    expect(delays).toEqual([5, 10, 12, 12]); // half of 10, 20, then capped 25
  });

  it('When the error is not retryable, then it is thrown after one attempt', async () => {
    const { fn, calls } = failing(permanent());
    await expect(retryWithBackoff(fn, { attempts: 5, baseMs: 1 })).rejects.toMatchObject({ code: 'invalid_request' });
    expect(calls).toEqual([1]);
  });

  it('When a non-AppError is thrown, then by default it is not retried, unless isRetryable says so', async () => {
    const a = failing(new Error('boom'));
    await expect(retryWithBackoff(a.fn, { attempts: 3, baseMs: 1 })).rejects.toThrow('boom');
    expect(a.calls).toEqual([1]);
    const b = failing(new Error('boom'));
    await expect(retryWithBackoff(b.fn, { attempts: 3, baseMs: 1, isRetryable: () => true })).resolves.toBe('ok');
  });

  it('When every attempt fails, then the last error is thrown after `attempts` tries', async () => {
    const last = transient();
    const { fn, calls } = failing(transient(), transient(), last, transient());
    await expect(retryWithBackoff(fn, { attempts: 3, baseMs: 1 })).rejects.toBe(last);
    expect(calls).toEqual([1, 2, 3]);
  });

  it('When the error carries retryAfterMs, then that delay is used instead of the backoff', async () => {
    const { fn } = failing(transient(30));
    const delays: number[] = [];
    const started = Date.now();
    await retryWithBackoff(fn, { attempts: 2, baseMs: 1, maxMs: 1, onRetry: (i) => delays.push(i.delayMs) });
    expect(delays).toEqual([30]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
  });

  it('When the next wait would overrun the total budget, then it gives up at once', async () => {
    const err = transient(5_000);
    const { fn, calls } = failing(err);
    const started = Date.now();
    await expect(retryWithBackoff(fn, { attempts: 5, totalBudgetMs: 1_000 })).rejects.toBe(err);
    expect(calls).toEqual([1]);
    expect(Date.now() - started).toBeLessThan(2_000); // waiting would take 5 s: the margin is for a loaded machine
  });

  it('When the signal aborts during a wait, then it stops with the abort reason and makes no more attempts', async () => {
    const { fn, calls } = failing(transient(10_000), transient());
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(new Error('cancelled')), 20);
    await expect(retryWithBackoff(fn, { attempts: 5, totalBudgetMs: 60_000, signal: ctl.signal })).rejects.toThrow('cancelled');
    expect(calls).toEqual([1]);
  });

  it('When the signal is already aborted, then fn is never called', async () => {
    const { fn, calls } = failing();
    await expect(retryWithBackoff(fn, { signal: AbortSignal.abort(new Error('gone')) })).rejects.toThrow('gone');
    expect(calls).toEqual([]);
  });

  it('When fake timers drive the clock, then the waits are the computed ones', async () => {
    jest.useFakeTimers();
    try {
      const { fn, calls } = failing(transient(), transient());
      const p = retryWithBackoff(fn, { attempts: 3, baseMs: 1_000, maxMs: 10_000, random: () => 1 });
      await jest.advanceTimersByTimeAsync(999);
      expect(calls).toEqual([1]);
      await jest.advanceTimersByTimeAsync(1);
      expect(calls).toEqual([1, 2]);
      await jest.advanceTimersByTimeAsync(2_000);
      await expect(p).resolves.toBe('ok');
      expect(calls).toEqual([1, 2, 3]);
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('costUsd', () => {
  it('When pricing is known, then cost is tokens times price per million for input and output', () => {
    expect(costUsd({ inputPerMillion: 0.2, outputPerMillion: 0.6 }, { promptTokens: 1_000_000, completionTokens: 500_000 })).toBeCloseTo(
      0.5,
      12,
    );
    expect(costUsd({ inputPerMillion: 2, outputPerMillion: 6 }, { promptTokens: 1234, completionTokens: 0 })).toBeCloseTo(0.002468, 12);
  });

  it('When pricing is unknown or counts are negative, then they cost nothing', () => {
    expect(costUsd(undefined, { promptTokens: 10, completionTokens: 10 })).toBe(0);
    expect(costUsd({ inputPerMillion: 1, outputPerMillion: 1 }, { promptTokens: -5, completionTokens: 0 })).toBe(0);
  });
});

describe('usage days', () => {
  it('When a range spans a month end, then every UTC day is listed once', () => {
    expect(dayRange('2026-02-27', '2026-03-02')).toEqual(['2026-02-27', '2026-02-28', '2026-03-01', '2026-03-02']);
    expect(utcDay(Date.parse('2026-03-01T23:59:59.999Z'))).toBe('2026-03-01');
  });
});
