import type { TurnCandidate } from '../../src/context/context-types';
import { expansionTerms, recallTurns, type RecallOptions } from '../../src/sessions/recall-turns';
import type { RecallHit } from '../../src/sessions/session-recall-index';
import type { SessionRecord, StoredMessage } from '../../src/stores/session/session-types';

/** Recall's ranking of candidates, over a fake index (fixed hits per query) and a fake message store. */
const LAST_SEQ = 30;
const CONTENTS: Record<number, string> = { 7: 'Ana: we met at the Porto office', 9: 'the office is in Porto now' };
const content = (seq: number) => CONTENTS[seq] ?? `message ${seq}`;
const message = (seq: number): StoredMessage =>
  ({
    seq,
    role: seq % 2 === 1 ? 'user' : 'assistant',
    content: content(seq),
    createdAt: '2024-01-01T00:00:00Z',
    tokenCount: 3,
  }) as StoredMessage;
const session = { id: 's', tenant: 't', generation: 'g', lastSeq: LAST_SEQ } as SessionRecord;

function setup(hitsFor: (query: string) => number[]) {
  const queries: string[] = [];
  const reads: number[][] = [];
  const deps = {
    recallIndex: {
      search: async (_t: string, _s: SessionRecord, query: string, k: number): Promise<RecallHit[]> => {
        queries.push(query);
        return hitsFor(query)
          .slice(0, k)
          .map((seq, i) => ({ seq, score: 1 / (i + 1) }));
      },
    },
    sessions: {
      getMessages: async (_t: string, _id: string, seqs: number[]) => {
        reads.push(seqs);
        return seqs.map(message);
      },
    },
  } as unknown as Parameters<typeof recallTurns>[0];
  const recall = async (opts: Partial<RecallOptions>, recent: TurnCandidate[] = []) =>
    (await recallTurns(deps, 't', session, 'Where did we meet Ana?', 40, recent, async () => new Float32Array(), opts)).turns;
  return { recall, queries, reads };
}

const seqs = (turns: TurnCandidate[]) => turns.map((t) => t.seq);

describe('recallTurns', () => {
  test('When hits come back, then each is followed by the turn after it, repeats dropped, never past the last turn', async () => {
    const { recall } = setup(() => [10, 3, 11, 30]);
    expect(seqs(await recall({}))).toEqual([10, 11, 3, 4, 12, 30]);
  });

  test('When neighbours are delayed, then they rank that many hits later; before-neighbours come after after-ones', async () => {
    const { recall } = setup(() => [10, 3, 20, 25]);
    expect(seqs(await recall({ neighbourDelay: 2, before: 1 }))).toEqual([10, 3, 20, 11, 9, 25, 4, 2, 21, 19, 26, 24]);
    expect(seqs(await recall({ neighbourDelay: 1000, after: 0, before: 1 }))).toEqual([10, 3, 20, 25, 9, 2, 19, 24]);
  });

  test('When turns were already read for the window, then they are not read again', async () => {
    const { recall, reads } = setup(() => [28, 5]);
    const recent = [30, 29, 28].map((seq) => ({ ...message(seq) }));
    expect(seqs(await recall({}, recent))).toEqual([28, 29, 5, 6]);
    expect(reads).toEqual([[5, 6]]);
  });

  test('When feedback is on, then a second search adds the words the first hits share, and the two are fused', async () => {
    const { recall, queries } = setup((q) => (q.includes('office') ? [7, 12] : [7, 9, 3]));
    const turns = await recall({ feedback: { hits: 3, terms: 2, weight: 1 }, after: 0 });
    expect(queries[0]).toBe('Where did we meet Ana?');
    expect(queries[1]).toBe('Where did we meet Ana? Porto office');
    expect(seqs(turns)[0]).toBe(7);
    expect(seqs(turns)).toEqual(expect.arrayContaining([7, 9, 3, 12]));
  });

  test('When a speaker the question names has a hit, then the boost moves it up', async () => {
    const { recall } = setup(() => [10, 3, 7]);
    expect(seqs(await recall({ speakerBoost: 1, after: 0 }))).toEqual([7, 10, 3]);
  });
});

describe('expansionTerms', () => {
  test('When texts share words the question lacks, then those words come back, most shared first', () => {
    const texts = ['The Porto office opened in May.', 'We moved the office to Porto.', 'Lunch near the office.'];
    expect(expansionTerms('Where is the office?', texts, 5)).toEqual(['Porto']);
    expect(expansionTerms('Where?', texts, 1)).toEqual(['office']);
    expect(expansionTerms('Where?', ['only one text here'], 5)).toEqual([]);
  });
});
