import type { TurnCandidate } from '../context/context-types';
import { keywordTokens } from '../core/keywords/keyword-tokenizer';
import { DEFAULT_RRF_K, reciprocalRankFusion } from '../core/rrf';
import type { SessionRecord, StoredMessage } from '../stores/session/session-types';
import type { RecallHit } from './session-recall-index';
import type { SessionDeps } from './session-deps';

/**
 * How recall turns the recall index's hits into the candidates the context builder places (best first). The defaults
 * are the ones recall had before these options existed; every other value was measured one at a time on both LoCoMo
 * development conversations (`npm run eval:memory -- --ablation on`, evidence recall at 2,048 / 4,096 tokens, in
 * points, conv-26 then conv-30) and none helped both, and values chosen on one conversation by the held-out protocol
 * did not carry over to the other (docs/evaluation.md). Off options stay so the protocol can keep trying them.
 */
export interface RecallOptions {
  /**
   * Turns after each hit brought along with it: an answer usually comes in the reply, which rarely repeats the
   * question's words (0: -7.4/-10.8, -4.7/-4.7; 2: -1.0/+1.5, -1.9/0).
   */
  after: number;
  /** Turns before each hit brought along with it, the question a hit answers (1: -2.0/+0.5, 0/0). */
  before: number;
  /**
   * How many hits a hit's neighbours rank behind it: 0 places them right after their hit, a large value after every
   * hit, so neighbours fill only what the hits leave (5: -1.0/0, 0/+0.9; 1000: -6.9/-0.5, -3.8/+0.9).
   */
  neighbourDelay: number;
  /**
   * Pseudo-relevance feedback: terms shared by at least two of the first `hits` hits (and not in the question) are
   * added to it, up to `terms` of them, and the second search is fused with the first at `weight`. null: off
   * ({5, 5, 0.5}: -2.5/-0.5, -1.9/0; and a second store query per question).
   */
  feedback: { hits: number; terms: number; weight: number } | null;
  /**
   * Turns whose text starts with a speaker label (`Name: ...`, as imported transcripts carry) rank higher, by this
   * factor on their fused score, when the question names that speaker. 0: off (0.5: -6.9/-1.5, -1.9/+0.9; 2: worse):
   * in a two-person chat, most questions name someone whose turns are half of all, and keyword search already
   * weighs the rest of the question better.
   */
  speakerBoost: number;
}

export const DEFAULT_RECALL_OPTIONS: Readonly<RecallOptions> = Object.freeze({
  after: 1,
  before: 0,
  neighbourDelay: 0,
  feedback: null,
  speakerBoost: 0,
});

/** A speaker label at the start of a turn: one or two capitalised words and a colon (`Caroline: `, `Dr Smith: `). */
const SPEAKER_LABEL = /^\s*(\p{Lu}[\p{L}\p{M}'’.-]{0,30}(?: \p{Lu}[\p{L}\p{M}'’.-]{0,30})?):\s/u;
/** Surface words of a text, to turn expansion terms back into words the keyword tokenizer reads the same way. */
const WORD = /[\p{L}\p{M}\p{N}]+/gu;

export interface RecalledTurns {
  /** Candidates, best first. */
  turns: TurnCandidate[];
  /** Hits the first search found (fewer than k: the session has no more to give). */
  hits: number;
}

/**
 * Older turns found by meaning and keywords (hybrid search over the session's indexed messages), best first, each
 * followed by its neighbours as `opts` says. The builder drops those the window ends up showing. `recent` (newest
 * first) are messages already read: they are not read again.
 */
export async function recallTurns(
  deps: Pick<SessionDeps, 'recallIndex' | 'sessions'>,
  tenant: string,
  session: SessionRecord,
  question: string,
  k: number,
  recent: readonly TurnCandidate[],
  vector: () => Promise<Float32Array>,
  options: Partial<RecallOptions> = {},
): Promise<RecalledTurns> {
  const opts = { ...DEFAULT_RECALL_OPTIONS, ...options };
  let hits = await deps.recallIndex.search(tenant, session, question, k, { vector });
  if (hits.length === 0) return { turns: [], hits: 0 };
  const found = hits.length;
  // Messages never change once appended: those already read are not read again.
  const bySeq = new Map(recent.map((turn) => [turn.seq, turn]));
  const read = async (seqs: number[]) => {
    const missing = [...new Set(seqs)].filter((seq) => seq >= 1 && seq <= session.lastSeq && !bySeq.has(seq));
    if (missing.length > 0) for (const m of await deps.sessions.getMessages(tenant, session.id, missing)) bySeq.set(m.seq, toTurn(m));
  };

  if (opts.feedback !== null && opts.feedback.terms > 0 && opts.feedback.weight > 0) {
    const top = hits.slice(0, opts.feedback.hits).map((h) => h.seq);
    await read(top);
    const terms = expansionTerms(
      question,
      top.flatMap((seq) => (bySeq.has(seq) ? [bySeq.get(seq)!.content] : [])),
      opts.feedback.terms,
    );
    if (terms.length > 0) {
      const second = await deps.recallIndex.search(tenant, session, `${question} ${terms.join(' ')}`, k, { vector });
      hits = fuse([hits, second], [1, opts.feedback.weight]).slice(0, k);
    }
  }

  const neighbours = (seq: number) => [
    ...Array.from({ length: opts.after }, (_, i) => seq + i + 1),
    ...Array.from({ length: opts.before }, (_, i) => seq - i - 1),
  ];
  await read(hits.flatMap((h) => [h.seq, ...neighbours(h.seq)]));
  if (opts.speakerBoost > 0) hits = boostNamedSpeakers(hits, question, bySeq, opts.speakerBoost);

  // Each hit at its rank, its neighbours `neighbourDelay` hits later (in hit order, after the hits of that rank).
  const delay = Math.min(opts.neighbourDelay, hits.length);
  const ranked = hits
    .flatMap((hit, rank) => [
      { seq: hit.seq, key: rank, rank, order: 0 },
      ...neighbours(hit.seq).map((seq, i) => ({ seq, key: rank + delay, rank, order: i + 1 })),
    ])
    .sort((a, b) => a.key - b.key || a.order - b.order || a.rank - b.rank);
  const seen = new Set<number>();
  const out: TurnCandidate[] = [];
  for (const { seq } of ranked) {
    const turn = bySeq.get(seq);
    if (turn === undefined || seen.has(seq)) continue;
    seen.add(seq);
    out.push(turn);
  }
  return { turns: out, hits: found };
}

/** Hits of two searches fused by weighted RRF (the product's formula), best first. */
function fuse(lists: RecallHit[][], weights: number[]): RecallHit[] {
  return reciprocalRankFusion(
    lists.map((list) => list.map((h) => ({ id: String(h.seq), seq: h.seq }))),
    DEFAULT_RRF_K,
    weights,
  ).map((f) => ({ seq: f.item.seq, score: f.score }));
}

/**
 * Up to `max` words that at least two of `texts` share and the question does not have, most shared first (ties: the
 * order they first appear in), as surface words the keyword tokenizer reads to the same term.
 */
export function expansionTerms(question: string, texts: readonly string[], max: number): string[] {
  const asked = new Set(keywordTokens(question));
  const documentFrequency = new Map<string, number>();
  const surface = new Map<string, string>();
  for (const text of texts) {
    const terms = new Set<string>();
    for (const word of text.match(WORD) ?? []) {
      const [term] = keywordTokens(word);
      if (term === undefined || asked.has(term) || /^\p{N}+$/u.test(term)) continue;
      terms.add(term);
      if (!surface.has(term)) surface.set(term, word);
    }
    for (const term of terms) documentFrequency.set(term, (documentFrequency.get(term) ?? 0) + 1);
  }
  return [...documentFrequency]
    .filter(([, df]) => df >= 2)
    .sort((a, b) => b[1] - a[1])
    .slice(0, max)
    .map(([term]) => surface.get(term)!);
}

/** Hits re-ranked by 1 / (k + rank), times (1 + boost) for turns whose speaker label the question names. */
function boostNamedSpeakers(hits: RecallHit[], question: string, bySeq: ReadonlyMap<number, TurnCandidate>, boost: number): RecallHit[] {
  const named = (seq: number) => {
    const label = SPEAKER_LABEL.exec(bySeq.get(seq)?.content ?? '')?.[1];
    return label !== undefined && new RegExp(`(?<![\\p{L}\\p{N}])${escapeRegExp(label)}(?![\\p{L}\\p{N}])`, 'u').test(question);
  };
  return hits
    .map((hit, rank) => ({ hit, score: (named(hit.seq) ? 1 + boost : 1) / (DEFAULT_RRF_K + rank) }))
    .sort((a, b) => b.score - a.score)
    .map(({ hit }) => hit);
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const toTurn = (m: StoredMessage): TurnCandidate => ({
  seq: m.seq,
  role: m.role,
  content: m.content,
  createdAt: m.createdAt,
  tokenCount: m.tokenCount,
});
