import { buildContext } from '../../src/context/build-context';
import type { BuildContextInput, TurnCandidate } from '../../src/context/context-types';
import { extendWindow, selectWindow } from '../../src/context/window';
import { AppError } from '../../src/errors';
import { TokenCounter } from '../../src/core/tokens/token-counter';
import { contextInput, makeTurn } from '../support/context-builders';

/** Newest first, seqs n..1, each costing `costs[i]` planning tokens (tokenCount + 3). */
function recentOf(costs: number[]): TurnCandidate[] {
  return costs.map((cost, i) => ({
    seq: costs.length - i,
    role: i % 2 === 0 ? 'assistant' : 'user',
    content: `message ${costs.length - i}`,
    createdAt: '2024-01-01T00:00:00Z',
    tokenCount: cost - 3,
  }));
}

describe('selectWindow', () => {
  test('When messages fit, then the newest whole ones are taken in ascending seq', () => {
    const w = selectWindow(recentOf([10, 10, 10, 10]), 30);
    expect(w.turns.map((t) => t.seq)).toEqual([2, 3, 4]);
    expect(w.tokens).toBe(30);
  });

  test('When a message does not fit, then the walk stops there even if an older one would fit', () => {
    const w = selectWindow(recentOf([10, 50, 5, 5]), 40);
    expect(w.turns.map((t) => t.seq)).toEqual([4]);
    expect(w.taken).toBe(1);
  });

  test('When the newest message alone exceeds the grant, then it throws context_too_small', () => {
    expect(() => selectWindow(recentOf([41, 1]), 40)).toThrow(expect.objectContaining({ code: 'context_too_small' }));
  });

  test('When there are no recent messages, then the window is empty', () => {
    expect(selectWindow([], 0).turns).toEqual([]);
  });

  test('When a window is extended, then it continues from the oldest taken turn and stops at the first misfit', () => {
    const recent = recentOf([10, 50, 5, 5]);
    const w = extendWindow(recent, 1, 60);
    expect(w.turns.map((t) => t.seq)).toEqual([1, 2, 3, 4]);
    expect(w.tokens).toBe(60);
    expect(extendWindow(recent, 1, 49).taken).toBe(1);
  });
});

describe('buildContext window', () => {
  let tokenCounter: TokenCounter;
  beforeAll(() => {
    tokenCounter = new TokenCounter();
  });

  const turn = (seq: number, content: string): TurnCandidate => makeTurn(tokenCounter, seq, content, '2024-01-01T00:00:00Z');

  const input = (over: Partial<BuildContextInput>): BuildContextInput =>
    contextInput(
      { systemPrompt: 'You are helpful.', question: 'What now?', shares: { retrieved: 0.4, summary: 0.1, recalled: 0.2 } },
      over,
    );

  test('When the budget is tight, then window messages are whole and verbatim, newest always included', () => {
    const long = 'word '.repeat(400).trim();
    const recent = [turn(3, 'latest message'), turn(2, long), turn(1, 'first')];
    const built = buildContext(input({ recent, budget: 200 }), { tokenCounter });
    expect(built.windowSeqs).toEqual([3]);
    expect(built.messages.slice(1, -1)).toEqual([{ role: 'user', content: 'latest message' }]);
  });

  test('When the newest message cannot fit, then it throws context_too_small with budget and required', () => {
    const recent = [turn(2, 'word '.repeat(500)), turn(1, 'hi')];
    let error: unknown;
    try {
      buildContext(input({ recent, budget: 300 }), { tokenCounter });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'context_too_small', status: 400, details: { budget: 300 } });
    expect((error as AppError).details?.required).toBeGreaterThan(300);
  });
});
