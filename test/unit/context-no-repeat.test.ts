import fc from 'fast-check';
import { buildContext } from '../../src/context/build-context';
import type { BuildContextInput, TurnCandidate } from '../../src/context/context-types';
import { countMessages } from '../../src/core/tokens/message-tokens';
import { AppError } from '../../src/errors';
import { TokenCounter } from '../../src/core/tokens/token-counter';
import { contextInput, makeTurn } from '../support/context-builders';

/**
 * No part of a conversation is shown twice: the summary covers only turns the window does not show (or is left out),
 * and recalled turns never repeat the window. Conversations here look like real ones: distinct turns, a rolling summary
 * over a prefix of them, recall hits among the older turns.
 */
describe('buildContext shows each part of the conversation once', () => {
  let tokenCounter: TokenCounter;
  beforeAll(() => {
    tokenCounter = new TokenCounter();
  });

  const WORDS = ['river', 'ticket', 'garden', 'invoice', 'Lisbon', 'guitar', 'meeting', 'Tuesday', 'recipe', 'budget'];
  const turn = (seq: number, words = 6): TurnCandidate =>
    makeTurn(
      tokenCounter,
      seq,
      `Turn ${seq}: ${Array.from({ length: words }, (_, i) => WORDS[(seq * 7 + i) % WORDS.length]).join(' ')}.`,
      new Date(Date.UTC(2024, 0, 1) + seq * 3_600_000).toISOString(),
    );
  const conversation = (n: number, words = 6) => Array.from({ length: n }, (_, i) => turn(i + 1, words));
  const summaryOf = (coversThroughSeq: number) => {
    const text = `The first ${coversThroughSeq} turns were about budgets and trips to Lisbon.`;
    return { text, coversThroughSeq, tokenCount: tokenCounter.count(text) };
  };
  const input = (over: Partial<BuildContextInput>): BuildContextInput =>
    contextInput(
      {
        systemPrompt: 'You are a helpful assistant.',
        question: 'What did we decide?',
        shares: { retrieved: 0.45, summary: 0.15, recalled: 0.15 },
      },
      over,
    );

  test('When the window can show every turn the summary covers, then the summary is left out', () => {
    // The defect seen by hand: 50 turns, a summary of turns 1-26, a limit that holds them all.
    const turns = conversation(50);
    for (const budget of [4000, 8192]) {
      const built = buildContext(input({ budget, recent: [...turns].reverse(), summary: summaryOf(26) }), { tokenCounter });
      expect(built.windowSeqs).toEqual(turns.map((t) => t.seq));
      expect(built.summaryCoversThroughSeq).toBeNull();
      expect(built.messages[0].content).not.toContain('<summary>');
    }
  });

  test('When the summary is placed, then the window starts after the turns it covers, which recall may still show', () => {
    const turns = conversation(400, 20);
    const recent = [...turns].reverse();
    const recalled = [12, 40, 41, 150, 380, 395].map((seq) => turns[seq - 1]);
    const built = buildContext(
      input({ budget: 8192, recent, summary: summaryOf(390), recalled, shares: { retrieved: 0, summary: 0.15, recalled: 0.15 } }),
      { tokenCounter },
    );
    expect(built.summaryCoversThroughSeq).toBe(390);
    expect(built.windowSeqs).toEqual(turns.slice(390).map((t) => t.seq));
    // Turns the summary covers may still be recalled verbatim; those the window shows are not.
    expect(built.recalledSeqs).toEqual([12, 40, 41, 150, 380]);
    expect(built.context.used).toBeLessThanOrEqual(8192);
  });

  test('When the summary covers the newest turn, then only the newest turn is in the window beside it', () => {
    // (SUMMARY_KEEP_RECENT_MESSAGES 0): the newest turn is always shown, so the summary repeats that one only.
    const turns = conversation(400, 20);
    const built = buildContext(input({ budget: 2048, recent: [...turns].reverse(), summary: summaryOf(400) }), { tokenCounter });
    expect(built.summaryCoversThroughSeq).toBe(400);
    expect(built.windowSeqs).toEqual([400]);
  });

  const sessionArb = fc.record({
    turns: fc.integer({ min: 0, max: 400 }),
    words: fc.integer({ min: 1, max: 60 }),
    // A rolling summary covers a prefix (sometimes none, sometimes all of it).
    covers: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: null }),
    summaryWords: fc.integer({ min: 1, max: 400 }),
    recallPicks: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 30 }),
    budget: fc.oneof(fc.integer({ min: 64, max: 12_000 }), fc.integer({ min: 64, max: 1500 })),
    shares: fc.tuple(fc.nat(100), fc.nat(100), fc.nat(100), fc.nat(100)).map(([a, b, c, d]) => {
      const sum = a + b + c + d || 1;
      return { retrieved: a / sum, summary: b / sum, recalled: c / sum };
    }),
  });

  test('When conversations and budgets are random, then no turn is shown twice and the context fits', () => {
    fc.assert(
      fc.property(sessionArb, (s) => {
        const turns = conversation(s.turns, s.words);
        const coversThroughSeq = s.covers === null ? null : Math.floor(s.covers * s.turns);
        const summary =
          coversThroughSeq === null
            ? null
            : { ...summaryOf(coversThroughSeq), text: `Summary: ${'Lisbon budget '.repeat(s.summaryWords)}` };
        if (summary !== null) summary.tokenCount = tokenCounter.count(summary.text);
        const recalled = turns.length === 0 ? [] : s.recallPicks.map((p) => turns[Math.floor(p * (turns.length - 1))]);
        let built;
        try {
          built = buildContext(input({ budget: s.budget, shares: s.shares, recent: [...turns].reverse(), recalled, summary }), {
            tokenCounter,
          });
        } catch (e) {
          expect(e).toBeInstanceOf(AppError);
          expect((e as AppError).code).toBe('context_too_small');
          return;
        }
        expect(built.context.used).toBe(countMessages(built.messages, tokenCounter));
        expect(built.context.used).toBeLessThanOrEqual(s.budget);
        const window = built.windowSeqs;
        const inWindow = new Set(window);
        for (const seq of built.recalledSeqs) expect(inWindow.has(seq)).toBe(false);
        // Each turn's text appears once in the whole prompt (turns are distinct, and the summary quotes none of them).
        const prompt = built.messages.map((m) => m.content).join('\n');
        for (const seq of [...window, ...built.recalledSeqs]) {
          const text = turns[seq - 1].content;
          expect(prompt.indexOf(text)).toBe(prompt.lastIndexOf(text));
        }
        const covers = built.summaryCoversThroughSeq;
        if (covers !== null) {
          // The summary covers only turns the window does not show (the newest turn is always shown).
          for (const seq of window.slice(0, -1)) expect(seq).toBeGreaterThan(covers);
          // ... so it is never beside a window that shows everything it covers.
          if (covers >= 1) expect(window[0]).toBeGreaterThan(1);
        }
      }),
      { numRuns: 300 },
    );
  });
});
