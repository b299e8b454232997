/**
 * The offline model provider: deterministic, weight-free and NOT an LLM. It never generates text; it extracts whole
 * sentences from what it is given. It exists so the service runs end to end without a network or an API key (local
 * runs, CI, demos) with answers that are honest about their sources.
 *
 * - chat (e.g. model `offline-extractive`): reads the retrieved chunks from the messages (format: see
 *   `offline-text.ts`), splits them into sentences, scores each by the idf-weighted overlap of its keyword terms
 *   (`keywordTokens`: stemmed, stop words removed) with the question's, and answers with the best few (at most 3,
 *   near-duplicates dropped, within `maxTokens`), in context order, each followed by its chunk's citation marker
 *   (`... sentence. [2]`). Only markers present in the context are ever cited. When no sentence shares a meaningful
 *   term with the question the answer is exactly NOT_FOUND_ANSWER.
 * - summarisation (model name containing "summar", e.g. `offline-summarizer`; or a system message that asks to
 *   summarise while no context chunk is present): extractive folding by `summarize` (see `offline-summarize.ts`).
 * - chatStream: the same text as chat, word by word, then `done` with chat's result.
 * - embed: `OfflineEmbedder` vectors.
 *
 * Usage is exact tekken counts: prompt = the messages' contents, completion = the answer. An aborted `signal` throws
 * AppError('aborted', 499), also between stream deltas.
 */
import type { ChatRequest, ChatResult, ChatStreamEvent, EmbedResult, ModelProvider } from '../provider';
import type { TokenCounter } from '../../core/tokens/token-counter';
import { OfflineEmbedder } from '../offline-embedder';
import { keywordTokens } from '../../core/keywords/keyword-tokenizer';
import { parseChatContext, splitSentences, throwIfAborted, type ContextPassage } from './offline-text';
import { summarize } from './offline-summarize';

export { parseChatContext, splitSentences } from './offline-text';
export { summarize } from './offline-summarize';

export const NOT_FOUND_ANSWER = 'I could not find this in the provided context.';
export const DEFAULT_ANSWER_MAX_TOKENS = 512;
export const MAX_ANSWER_SENTENCES = 3;
/** A sentence joins the best one only when it scores at least this share of it. */
const RELATIVE_SCORE_FLOOR = 0.5;
/** Two sentences whose term sets overlap this much (Jaccard) say the same thing: only the better one is kept. */
const NEAR_DUPLICATE_JACCARD = 0.7;
/** Title terms help rank a chunk's sentences but never make a match on their own. */
const TITLE_WEIGHT = 0.25;

/** Words of questions that say nothing about the topic ("tell me about", "what does the document say"). */
const QUESTION_FILLER: ReadonlySet<string> = new Set(
  keywordTokens(
    'tell explain describe please know say says said mean means give list find show document documents context ' +
      'provided text according question answer would could also like want thing things',
  ),
);

export interface OfflineProviderOptions {
  tokenCounter: TokenCounter;
  embedder?: OfflineEmbedder;
}

interface Sentence {
  text: string;
  marker: string;
  terms: Set<string>;
  titleTerms: Set<string>;
  position: number;
}

/** Is this a request for a summary rather than an answer? */
function isSummaryRequest(req: ChatRequest, hasContext: boolean): boolean {
  if (/summar/i.test(req.model)) return true;
  if (hasContext) return false;
  return req.messages.some(
    (m) => m.role === 'system' && /\b(?:summari[sz]e|summari[sz]ing|write a summary|update the summary)\b/i.test(m.content),
  );
}

/**
 * Answers `question` from `passages` extractively (see the class comment); the provider adds usage and abort
 * handling.
 */
function extractiveAnswer(
  question: string,
  passages: ContextPassage[],
  opts: { tokenCounter: TokenCounter; maxTokens?: number },
): { text: string; truncated: boolean } {
  const maxTokens = opts.maxTokens ?? DEFAULT_ANSWER_MAX_TOKENS;
  const qTerms = new Set(keywordTokens(question).filter((t) => !QUESTION_FILLER.has(t)));
  if (qTerms.size === 0) return { text: NOT_FOUND_ANSWER, truncated: false };

  const sentences: Sentence[] = [];
  for (const p of passages) {
    const titleTerms = new Set(p.title === undefined ? [] : keywordTokens(p.title));
    for (const text of splitSentences(p.text)) {
      sentences.push({ text, marker: p.marker, terms: new Set(keywordTokens(text)), titleTerms, position: sentences.length });
    }
  }
  const n = sentences.length;
  const df = new Map<string, number>();
  for (const s of sentences) for (const t of s.terms) if (qTerms.has(t)) df.set(t, (df.get(t) ?? 0) + 1);
  const idf = (t: string) => Math.log(1 + n / (df.get(t) ?? 1));

  const scored: { s: Sentence; score: number }[] = [];
  for (const s of sentences) {
    let score = 0;
    for (const t of qTerms) if (s.terms.has(t)) score += idf(t);
    if (score === 0) continue; // title terms alone are not a match
    for (const t of qTerms) if (!s.terms.has(t) && s.titleTerms.has(t)) score += TITLE_WEIGHT * idf(t);
    // Mild preference for focused sentences: a long sentence matching the same terms ranks a little lower.
    score /= 1 + 0.02 * Math.max(0, s.terms.size - 12);
    scored.push({ s, score });
  }
  if (scored.length === 0) return { text: NOT_FOUND_ANSWER, truncated: false };
  scored.sort((a, b) => b.score - a.score || a.s.position - b.s.position);

  const best = scored[0].score;
  const chosen: Sentence[] = [];
  const render = (list: Sentence[]) =>
    list
      .slice()
      .sort((a, b) => a.position - b.position)
      .map((s) => `${s.text} [${s.marker}]`)
      .join(' ');
  for (const { s, score } of scored) {
    if (chosen.length >= MAX_ANSWER_SENTENCES || score < RELATIVE_SCORE_FLOOR * best) break;
    if (chosen.some((c) => jaccard(c.terms, s.terms) >= NEAR_DUPLICATE_JACCARD || c.text === s.text)) continue;
    if (chosen.length > 0 && opts.tokenCounter.count(render([...chosen, s])) > maxTokens) continue;
    chosen.push(s);
  }
  const text = render(chosen);
  if (opts.tokenCounter.count(text) <= maxTokens) return { text, truncated: false };
  // Even the best sentence alone is too long: keep its leading words that fit (with its marker).
  const only = chosen[0];
  const words = only.text.split(' ');
  let lo = 0;
  let hi = words.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (opts.tokenCounter.count(`${words.slice(0, mid).join(' ')}… [${only.marker}]`) <= maxTokens) lo = mid;
    else hi = mid - 1;
  }
  if (lo === 0) return { text: '', truncated: true };
  return { text: `${words.slice(0, lo).join(' ')}… [${only.marker}]`, truncated: true };
}

function jaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let inter = 0;
  for (const t of a) if (b.has(t)) inter++;
  return inter / (a.size + b.size - inter);
}

/** Deltas of `text` whose concatenation is `text`: each word with the whitespace after it. */
function streamPieces(text: string): string[] {
  return text.match(/^\s+|\S+\s*/g) ?? [];
}

export class OfflineProvider implements ModelProvider {
  readonly name = 'offline' as const;
  private readonly tokenCounter: TokenCounter;
  private readonly embedder: OfflineEmbedder;

  constructor(opts: OfflineProviderOptions) {
    this.tokenCounter = opts.tokenCounter;
    this.embedder = opts.embedder ?? new OfflineEmbedder();
  }

  async chat(req: ChatRequest): Promise<ChatResult> {
    throwIfAborted(req.signal);
    const promptTokens = req.messages.reduce((sum, m) => sum + this.tokenCounter.count(m.content), 0);
    const { passages, question } = parseChatContext(req.messages);
    let text: string;
    let truncated = false;
    if (isSummaryRequest(req, passages.length > 0)) {
      const input = req.messages
        .filter((m) => m.role !== 'system')
        .map((m, _i, all) => (all.length === 1 && m.role === 'user' ? m.content : `${roleLabel(m.role)}: ${m.content}`))
        .join('\n');
      // A previous summary may also be handed over in the system message.
      const systemSummary = req.messages
        .filter((m) => m.role === 'system')
        .map((m) => /<summary\b[\s\S]*?(?:<\/summary\s*>|$)/i.exec(m.content)?.[0] ?? '')
        .join('');
      text = summarize(systemSummary + '\n' + input, {
        tokenCounter: this.tokenCounter,
        maxTokens: req.maxTokens,
        signal: req.signal,
      });
    } else {
      ({ text, truncated } = extractiveAnswer(question, passages, {
        tokenCounter: this.tokenCounter,
        maxTokens: req.maxTokens,
      }));
    }
    throwIfAborted(req.signal);
    return {
      text,
      model: req.model,
      usage: { promptTokens, completionTokens: this.tokenCounter.count(text) },
      finishReason: truncated ? 'length' : 'stop',
    };
  }

  async *chatStream(req: ChatRequest): AsyncIterable<ChatStreamEvent> {
    const result = await this.chat(req);
    for (const piece of streamPieces(result.text)) {
      throwIfAborted(req.signal);
      yield { type: 'delta', text: piece };
    }
    throwIfAborted(req.signal);
    yield { type: 'done', result };
  }

  async embed(_model: string, texts: string[], opts?: { signal?: AbortSignal }): Promise<EmbedResult> {
    throwIfAborted(opts?.signal);
    const vectors: Float32Array[] = [];
    let promptTokens = 0;
    for (const text of texts) {
      throwIfAborted(opts?.signal);
      vectors.push(this.embedder.embedOne(text));
      promptTokens += this.tokenCounter.count(text);
    }
    return { vectors, usage: { promptTokens, completionTokens: 0 } };
  }
}

function roleLabel(role: 'system' | 'user' | 'assistant'): string {
  return role === 'user' ? 'User' : role === 'assistant' ? 'Assistant' : 'System';
}
