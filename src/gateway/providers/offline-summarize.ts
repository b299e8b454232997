/**
 * The offline provider's extractive summariser (not an LLM: it only keeps or drops whole sentences of its input).
 *
 * Input format (`summarize`'s `input`, or the non-system messages of a summarisation request):
 *
 * ```text
 * Previous summary: Alice leads the Berlin launch.      <- or <summary>...</summary>; optional, kept first
 * User: Hi! How are you?
 * Assistant: Fine, thanks. We agreed to ship on 12/03.
 * ```
 *
 * A previous summary is the body of a `<summary>` block or the text after a `Summary:` / `Previous summary:` /
 * `Existing summary:` / `Current summary:` line, up to the first blank line or turn line. Turn lines start with a
 * speaker (`User:`, `Assistant:`, `Human:`, `AI:`, `System:` or a capitalised name followed by a colon); lines
 * without a speaker continue the previous turn.
 *
 * A sentence is kept when it carries a fact: a name (a capitalised word that is not the first word of its sentence,
 * nor "I"), a number, a date (month or weekday name, relative days like "tomorrow", yyyy, dd/mm) or a decision or
 * commitment ("decided", "agreed", "will", "going to", "plan", "deadline", ...). Greetings, thanks and other small
 * talk carry none and are dropped. Kept sentences stay in their original order, prefixed with their speaker
 * (`User: ...`), one turn per line, after the previous summary. When they do not all fit in `maxTokens`, those with
 * the fewest facts are dropped first (later ones first on a tie).
 */
import type { TokenCounter } from '../../core/tokens/token-counter';
import { splitSentences, throwIfAborted } from './offline-text';

export const DEFAULT_SUMMARY_MAX_TOKENS = 256;

export interface SummarizeOptions {
  tokenCounter: TokenCounter;
  maxTokens?: number;
  signal?: AbortSignal;
}

export interface SummaryInput {
  previousSummary: string;
  turns: { speaker: string; text: string }[];
}

const SUMMARY_BLOCK = /<summary\b[^>]*>([\s\S]*?)(?:<\/summary\s*>|$)/i;
const SUMMARY_LINE = /^[ \t]*(?:(?:previous|existing|current|earlier|prior|running)\s+)?summary[ \t]*:[ \t]*(.*)$/i;
const TURN_LINE = /^[ \t]*(user|assistant|human|ai|system|bot|[A-Z][\p{L}'-]{0,30}(?: [A-Z][\p{L}'-]{0,30})?)[ \t]*:[ \t]*(.*)$/u;
const TURNS_HEADER = /^[ \t]*(?:new\s+)?(?:turns|conversation|messages|transcript)[ \t]*:[ \t]*$/i;

/** The previous summary and the turns of a summarisation input. */
function parseSummaryInput(input: string): SummaryInput {
  let previousSummary = '';
  let text = input.replace(/\r\n?/g, '\n');
  const block = SUMMARY_BLOCK.exec(text);
  if (block !== null) {
    previousSummary = block[1].trim();
    text = text.slice(0, block.index) + '\n' + text.slice(block.index + block[0].length);
  }
  const turns: { speaker: string; text: string }[] = [];
  let inSummary = false;
  for (const line of text.split('\n')) {
    const s = SUMMARY_LINE.exec(line);
    if (s !== null && previousSummary === '') {
      inSummary = true;
      previousSummary = s[1].trim();
      continue;
    }
    if (TURNS_HEADER.test(line)) {
      inSummary = false;
      continue;
    }
    const t = TURN_LINE.exec(line);
    if (t !== null) {
      inSummary = false;
      turns.push({ speaker: normaliseSpeaker(t[1]), text: t[2] });
      continue;
    }
    if (line.trim() === '') {
      if (inSummary && previousSummary !== '') inSummary = false;
      else if (turns.length > 0) turns[turns.length - 1].text += '\n\n';
      continue;
    }
    if (inSummary) previousSummary = previousSummary === '' ? line.trim() : `${previousSummary} ${line.trim()}`;
    else if (turns.length > 0) turns[turns.length - 1].text += `\n${line}`;
    else turns.push({ speaker: '', text: line });
  }
  return { previousSummary: previousSummary.trim(), turns };
}

function normaliseSpeaker(s: string): string {
  const lower = s.toLowerCase();
  if (lower === 'user' || lower === 'human') return 'User';
  if (lower === 'assistant' || lower === 'ai' || lower === 'bot') return 'Assistant';
  if (lower === 'system') return 'System';
  return s;
}

const MONTHS =
  'january|february|march|april|may|june|july|august|september|october|november|december|' +
  'jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec';
const WEEKDAYS = 'monday|tuesday|wednesday|thursday|friday|saturday|sunday';
const DATE = new RegExp(
  `\\b(?:${WEEKDAYS}|today|tomorrow|tonight|yesterday|weekend|next (?:week|month|year)|(?:january|february|march|april|june|july|august|september|october|november|december))\\b` +
    `|\\b(?:${MONTHS})\\.? \\d{1,2}\\b|\\b\\d{1,2} (?:${MONTHS})\\b` +
    '|\\b(?:1[89]|20)\\d{2}\\b|\\b\\d{1,2}[/.-]\\d{1,2}(?:[/.-]\\d{2,4})?\\b|\\b\\d{4}-\\d{2}-\\d{2}\\b',
  'i',
);
const NUMBER = /\p{N}/u;
const DECISION =
  /\b(?:decid(?:e|ed|es|ing)|decision|agree(?:d|s)?|agreement|will|won't|shall|going to|gonna|plan(?:s|ned|ning)?|schedul(?:e|ed|ing)|deadline|due|must|need(?:s)? to|have to|has to|let's|let us|confirm(?:ed|s)?|commit(?:ted|s)?|promise(?:d|s)?|chose|choose|chosen|approved?|booked|assigned|settled on|opted)\b|\b\w+'ll\b/i;
/** Capitalised words that are not names on their own. */
const NOT_NAMES = new Set(['I', "I'm", "I'll", "I've", "I'd", 'OK', 'Ok']);
const SMALL_TALK =
  /^(?:hi|hello|hey|thanks?|thank you|bye|goodbye|good (?:morning|afternoon|evening|night)|how are you|how's it going|how is it going|you're welcome|sure|ok(?:ay)?|great|cool|nice|lol|haha)\b/i;

/** How many kinds of fact a sentence carries (names, numbers, dates, decisions), 0 for small talk. */
function factScore(sentence: string): number {
  const words = sentence.match(/[\p{L}\p{N}][\p{L}\p{N}'’-]*/gu) ?? [];
  const hasName = words.slice(1).some((w) => /^\p{Lu}/u.test(w) && !NOT_NAMES.has(w));
  const hasDate = DATE.test(sentence);
  const hasNumber = NUMBER.test(sentence);
  const hasDecision = DECISION.test(sentence);
  const score = (hasName ? 1 : 0) + (hasDate ? 1 : 0) + (hasNumber ? 1 : 0) + (hasDecision ? 1 : 0);
  // "Hi Alice!", "Thanks, Bob." or "How are you today?" name someone or a day but say nothing.
  if (score > 0 && !hasNumber && !hasDecision && SMALL_TALK.test(sentence) && words.length <= 8) return 0;
  return score;
}

/**
 * Folds `input` (an optional previous summary, then turns; see the module comment) into a summary of at most
 * `maxTokens` tokens. Deterministic. Returns the previous summary alone when no new sentence carries a fact.
 */
export function summarize(input: string, opts: SummarizeOptions): string {
  const maxTokens = opts.maxTokens ?? DEFAULT_SUMMARY_MAX_TOKENS;
  const counter = opts.tokenCounter;
  throwIfAborted(opts.signal);
  const { previousSummary, turns } = parseSummaryInput(input);

  // The previous summary is kept first, whole when it fits; otherwise its leading sentences that fit.
  let head = previousSummary;
  if (head !== '' && counter.count(head) > maxTokens) {
    head = '';
    for (const s of splitSentences(previousSummary)) {
      const next = head === '' ? s : `${head} ${s}`;
      if (counter.count(next) > maxTokens) break;
      head = next;
    }
  }

  interface Candidate {
    turn: number;
    speaker: string;
    text: string;
    score: number;
    order: number;
  }
  const candidates: Candidate[] = [];
  turns.forEach((turn, i) => {
    throwIfAborted(opts.signal);
    for (const sentence of splitSentences(turn.text)) {
      const score = factScore(sentence);
      if (score > 0) candidates.push({ turn: i, speaker: turn.speaker, text: sentence, score, order: candidates.length });
    }
  });

  const render = (kept: Candidate[]): string => {
    const lines: string[] = head === '' ? [] : [head];
    let lastTurn = -1;
    for (const c of kept) {
      if (c.turn === lastTurn) lines[lines.length - 1] += ` ${c.text}`;
      else lines.push(c.speaker === '' ? c.text : `${c.speaker}: ${c.text}`);
      lastTurn = c.turn;
    }
    return lines.join('\n');
  };

  // Drop the weakest (fewest facts, then latest) until the summary fits.
  let kept = candidates.slice();
  const dropOrder = candidates.slice().sort((a, b) => a.score - b.score || b.order - a.order);
  let d = 0;
  while (kept.length > 0 && counter.count(render(kept)) > maxTokens) {
    const victim = dropOrder[d++];
    kept = kept.filter((c) => c !== victim);
  }
  return render(kept);
}
