import fc from 'fast-check';
import { buildContext } from '../../src/context/build-context';
import type { BuildContextInput, RetrievedCandidate, TurnCandidate } from '../../src/context/context-types';
import { defuse } from '../../src/context/defuse';
import { countMessages } from '../../src/core/tokens/message-tokens';
import { CONTEXT_RULES } from '../../src/context/system-message';
import { AppError } from '../../src/errors';
import { parseChatContext, parseContextBlocks } from '../../src/gateway/providers/offline-text';
import { TokenCounter } from '../../src/core/tokens/token-counter';
import { contextInput, makeTurn } from '../support/context-builders';

describe('buildContext', () => {
  let tokenCounter: TokenCounter;
  beforeAll(() => {
    tokenCounter = new TokenCounter();
  });

  const turn = (seq: number, content = `message number ${seq}`): TurnCandidate =>
    makeTurn(tokenCounter, seq, content, new Date(Date.UTC(2024, 0, 1) + seq * 60_000).toISOString());

  const input = (over: Partial<BuildContextInput> = {}): BuildContextInput =>
    contextInput(
      {
        systemPrompt: 'You are a careful assistant.',
        question: 'What is the refund policy?',
        shares: { retrieved: 0.4, summary: 0.1, recalled: 0.2 },
      },
      over,
    );

  test('When the system prompt and question exceed the budget, then it throws context_too_small', () => {
    let error: unknown;
    try {
      buildContext(input({ budget: 64 }), { tokenCounter });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'context_too_small', status: 400, details: { budget: 64 } });
    expect((error as AppError).details?.required).toBeGreaterThan(64);
  });

  test('When the budget or shares are invalid, then it throws invalid_request', () => {
    expect(() => buildContext(input({ budget: 0 }), { tokenCounter })).toThrow(expect.objectContaining({ code: 'invalid_request' }));
    expect(() => buildContext(input({ shares: { retrieved: 0.9, summary: 0.2, recalled: 0 } }), { tokenCounter })).toThrow(
      expect.objectContaining({ code: 'invalid_request' }),
    );
  });

  test('When everything fits, then the layout is system (prompt, rules, summary, recalled, context), window, question', () => {
    const built = buildContext(
      input({
        summary: { text: 'The user asked about plans.', coversThroughSeq: 2, tokenCount: 7 },
        recalled: [turn(1, 'I bought the Pro plan.')],
        retrieved: [
          {
            chunkId: 'c1',
            documentId: 'd1',
            title: 'Refunds',
            text: 'Refunds are processed within 14 days.',
            score: 0.9,
            chunkIndex: 0,
            pages: [2],
            metadata: {},
          },
        ],
        recent: [turn(5), turn(4), turn(3)],
      }),
      { tokenCounter },
    );
    const [system, ...rest] = built.messages;
    expect(system.role).toBe('system');
    expect(system.content).toBe(
      [
        'You are a careful assistant.',
        CONTEXT_RULES,
        '<summary>\nSummary of the earlier conversation (through message 2):\nThe user asked about plans.\n</summary>',
        '<recalled>\nEarlier messages of this conversation, recalled as possibly relevant (oldest first):\n' +
          '[#1 · 2024-01-01] user: I bought the Pro plan.\n</recalled>',
        '<context>\n[1] Refunds (page 2)\nRefunds are processed within 14 days.\n</context>',
      ].join('\n\n'),
    );
    expect(rest).toEqual([
      { role: 'user', content: 'message number 3' },
      { role: 'assistant', content: 'message number 4' },
      { role: 'user', content: 'message number 5' },
      { role: 'user', content: 'What is the refund policy?' },
    ]);
    expect(built.windowSeqs).toEqual([3, 4, 5]);
    expect(built.recalledSeqs).toEqual([1]);
    expect(built.summaryCoversThroughSeq).toBe(2);
    expect(built.context.used).toBe(countMessages(built.messages, tokenCounter));
    const parts = Object.values(built.context.parts).reduce((a, b) => a + b, 0);
    expect(Math.abs(parts - built.context.used)).toBeLessThanOrEqual(8);
    expect(parseChatContext(built.messages).passages.map((p) => p.marker)).toEqual(['1']);
  });

  test('When there is nothing optional, then the system message is the prompt and rules only', () => {
    const built = buildContext(input(), { tokenCounter });
    expect(built.messages).toEqual([
      { role: 'system', content: `You are a careful assistant.\n\n${CONTEXT_RULES}` },
      { role: 'user', content: 'What is the refund policy?' },
    ]);
    expect(built.citations).toEqual([]);
    expect(built.summaryCoversThroughSeq).toBeNull();
    const { parts, used } = built.context;
    expect(parts.system + parts.question).toBe(used);
  });

  test('When the summary does not fit its grant, then it is left out whole', () => {
    const built = buildContext(
      input({
        budget: 400,
        shares: { retrieved: 0, summary: 0.05, recalled: 0 },
        // Longer than the whole budget: it cannot fit, not even with the window's unused share.
        summary: { text: 'long summary '.repeat(300), coversThroughSeq: 9, tokenCount: 600 },
        recent: [turn(12)],
      }),
      { tokenCounter },
    );
    expect(built.summaryCoversThroughSeq).toBeNull();
    expect(built.messages[0].content).not.toContain('<summary>');
    expect(built.context.parts.summary).toBe(0);
  });

  test('When stored token counts undercount, then the exact recount drops the oldest window turns until it fits', () => {
    const text = 'alpha beta gamma delta '.repeat(10);
    const recent = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1].map((seq) => ({ ...turn(seq, text), tokenCount: 1 }));
    const budget = 400;
    const built = buildContext(input({ budget, recent, shares: { retrieved: 0, summary: 0, recalled: 0 } }), { tokenCounter });
    expect(built.context.used).toBe(countMessages(built.messages, tokenCounter));
    expect(built.context.used).toBeLessThanOrEqual(budget);
    expect(built.windowSeqs.length).toBeGreaterThan(0);
    expect(built.windowSeqs.length).toBeLessThan(10);
    expect(built.windowSeqs[built.windowSeqs.length - 1]).toBe(10);
  });

  // Random sessions: the invariants hold whatever the sizes, texts, shares and budget.
  const textArb = fc.oneof(
    { weight: 3, arbitrary: fc.string({ maxLength: 160, size: 'large' }) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 120, size: 'large' }) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('word ', 'かな', '😀 ', '\n', '[1] ', '<context>')
        .chain((w) => fc.integer({ min: 1, max: 400 }).map((n) => w.repeat(n))),
    },
  );
  const chunkArb = fc.record({
    doc: fc.integer({ min: 0, max: 4 }),
    chunkIndex: fc.integer({ min: 0, max: 8 }),
    text: textArb,
    score: fc.double({ min: 0, max: 1, noNaN: true }),
    pages: fc.array(fc.integer({ min: 1, max: 30 }), { maxLength: 3 }),
  });
  const sessionArb = fc.record({
    contents: fc.array(textArb, { maxLength: 300, size: 'max' }),
    question: fc.string({ minLength: 1, maxLength: 200 }).filter((q) => q.trim() !== ''),
    chunks: fc.array(chunkArb, { maxLength: 20, size: 'max' }),
    summary: fc.option(fc.record({ text: textArb, through: fc.integer({ min: 0, max: 300 }) }), { nil: null }),
    recallPicks: fc.array(fc.nat(), { maxLength: 12, size: 'max' }),
    // Stored token counts that undercount make the plan overshoot, so the exact-fit loop has to drop turns.
    understate: fc.boolean(),
    // Half the runs tight (where parts compete and the exact-fit loop works), half anywhere in the range.
    budget: fc.oneof(fc.integer({ min: 64, max: 16384 }), fc.integer({ min: 64, max: 1500 })),
    shares: fc.tuple(fc.nat(100), fc.nat(100), fc.nat(100), fc.nat(100)).map(([a, b, c, d]) => {
      const sum = a + b + c + d || 1;
      return { retrieved: a / sum, summary: b / sum, recalled: c / sum };
    }),
  });

  test('When sessions are random, then the context fits exactly or is too small, with the protocol’s invariants', () => {
    fc.assert(
      fc.property(sessionArb, (s) => {
        const turns = s.contents.map((c, i) => {
          const t = turn(i + 1, c);
          return s.understate ? { ...t, tokenCount: Math.floor(t.tokenCount / 2) } : t;
        });
        const recent = [...turns].reverse();
        const retrieved: RetrievedCandidate[] = s.chunks.map((c) => ({
          chunkId: `d${c.doc}-c${c.chunkIndex}`,
          documentId: `d${c.doc}`,
          title: `Document ${c.doc}`,
          text: c.text,
          score: c.score,
          chunkIndex: c.chunkIndex,
          pages: c.pages,
          metadata: {},
        }));
        const recalled = turns.length === 0 ? [] : s.recallPicks.map((p) => turns[p % turns.length]);
        const summary =
          s.summary === null
            ? null
            : { text: s.summary.text, coversThroughSeq: s.summary.through, tokenCount: tokenCounter.count(s.summary.text) };
        const request = input({ question: s.question, budget: s.budget, shares: s.shares, retrieved, recalled, recent, summary });

        let built;
        try {
          built = buildContext(request, { tokenCounter });
        } catch (e) {
          expect(e).toBeInstanceOf(AppError);
          expect((e as AppError).code).toBe('context_too_small');
          return;
        }
        const { messages, context } = built;
        expect(context.used).toBe(countMessages(messages, tokenCounter));
        expect(context.used).toBeLessThanOrEqual(s.budget);
        expect(messages[messages.length - 1]).toEqual({ role: 'user', content: s.question });
        expect(messages[0].role).toBe('system');
        // Window: contiguous, ending at the newest seq, sent verbatim in order.
        const w = built.windowSeqs;
        if (turns.length > 0) expect(w[w.length - 1]).toBe(turns.length);
        w.forEach((seq, i) => i > 0 && expect(seq).toBe(w[i - 1] + 1));
        expect(messages.slice(1, -1)).toEqual(w.map((seq) => ({ role: turns[seq - 1].role, content: turns[seq - 1].content })));
        // Recalled: ascending, disjoint from the window, each entry verbatim in the system message.
        const inWindow = new Set(w);
        built.recalledSeqs.forEach((seq, i) => {
          expect(inWindow.has(seq)).toBe(false);
          if (i > 0) expect(seq).toBeGreaterThan(built.recalledSeqs[i - 1]);
          expect(messages[0].content).toContain(`] ${turns[seq - 1].role}: ${defuse(turns[seq - 1].content)}`);
        });
        // Citations: markers 1..n, each parsed back from the context block.
        expect(built.citations.map((c) => c.marker)).toEqual(built.citations.map((_c, i) => String(i + 1)));
        if (built.citations.length > 0) {
          const block = messages[0].content.slice(messages[0].content.lastIndexOf('\n\n<context>\n') + 2);
          expect(parseContextBlocks(block).passages.map((p) => p.marker)).toEqual(built.citations.map((c) => c.marker));
        }
        expect(built.summaryCoversThroughSeq).toBe(context.parts.summary > 0 && summary !== null ? summary.coversThroughSeq : null);
        // No part shown twice: a placed summary covers only turns the window does not show (the newest always shows).
        const covers = built.summaryCoversThroughSeq;
        if (covers !== null) w.slice(0, -1).forEach((seq) => expect(seq).toBeGreaterThan(covers));
      }),
      { numRuns: 200 },
    );
  });
});
