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
 * A turn whose text starts with a speaker's name (`User: Sam: ...`, as imported transcripts carry) is that speaker's.
 * An `On YYYY-MM-DD:` line (the session summariser marks each new day so) ends the turn before it and is not kept.
 *
 * Sentences are kept for the facts they carry, judged by general features of the text, not by topic words:
 * - names: capitalised words that are not the first word of their sentence, nor "I", nor the name of one of the
 *   conversation's speakers or its short form (in a chat those are mostly vocatives: "Totally agree, Sam!"), 2 points
 *   each;
 * - numbers and dates (digits, month or weekday names, relative days like "tomorrow", yyyy, dd/mm), 2 points each;
 * - a decision or commitment ("decided", "agreed", "will", "going to", "plan", "deadline", ...), 1 point;
 * - content: long words that are not capitalised (6 letters or more, mostly nouns and verbs in European languages),
 *   half a point each.
 * A question counts half (it asks for a fact more often than it states one). A sentence of fewer than 4 words, one worth less than 2 points, or a short greeting or thanks says nothing and is
 * dropped ("Hey Sam!", "Thanks so much, Robin!"). Kept sentences stay in their original order, prefixed with their
 * speaker (`Sam: ...`), one turn per line, after the previous summary. When they do not all fit in `maxTokens`, the
 * densest (points per token) are kept first, so a filler never takes the place of a fact.
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
/** A speaker's name at the start of a generic role's turn text: `User: Sam: ...` is Sam's turn. */
const NESTED_SPEAKER = /^[ \t]*(\p{Lu}[\p{L}'-]{0,30}(?: \p{Lu}[\p{L}'-]{0,30})?)[ \t]*:[ \t]+(?=\S)/u;
const GENERIC_SPEAKERS = new Set(['User', 'Assistant', 'System', '']);
const TURNS_HEADER = /^[ \t]*(?:new\s+)?(?:turns|conversation|messages|transcript)[ \t]*:[ \t]*$/i;
/** `On 2023-05-08:`, the session summariser's line before the turns of a new day (renderTurns): no turn of its own. */
const DAY_LINE = /^[ \t]*On \d{4}-\d{2}-\d{2}:[ \t]*$/;

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
    if (TURNS_HEADER.test(line) || DAY_LINE.test(line)) {
      inSummary = false;
      continue;
    }
    const t = TURN_LINE.exec(line);
    if (t !== null) {
      inSummary = false;
      const speaker = normaliseSpeaker(t[1]);
      const nested = GENERIC_SPEAKERS.has(speaker) ? NESTED_SPEAKER.exec(t[2]) : null;
      turns.push(nested === null ? { speaker, text: t[2] } : { speaker: nested[1], text: t[2].slice(nested[0].length) });
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

/** Fewer words than this say nothing on their own ("Hey Sam!", "Totally agree, Robin."). */
const MIN_FACT_WORDS = 4;
/** Points a sentence needs to be kept (one name, number or date; or a decision with a content word; or 4 content words). */
const MIN_FACT_POINTS = 2;
/** Words this long are mostly content words (nouns, verbs, adjectives) in European languages. */
const CONTENT_WORD_LETTERS = 6;
const DIGIT = /\p{N}/u;

/**
 * The facts a sentence carries, in points (see the module comment); 0 for small talk. `speakers` are the names of the
 * conversation's participants: naming them says nothing.
 */
function factPoints(sentence: string, speakers: ReadonlySet<string>): number {
  const words = sentence.match(/[\p{L}\p{N}][\p{L}\p{N}'’-]*/gu) ?? [];
  if (words.length < MIN_FACT_WORDS) return 0;
  const names = new Set(words.slice(1).filter((w) => /^\p{Lu}/u.test(w) && !NOT_NAMES.has(w) && !isSpeaker(w, speakers)));
  const numbers = new Set(words.filter((w) => DIGIT.test(w)));
  const dates = (sentence.match(new RegExp(DATE.source, 'gi')) ?? []).filter((d) => !DIGIT.test(d)).length;
  const hasDecision = DECISION.test(sentence);
  const content = new Set(
    words
      .filter((w) => !/^\p{Lu}/u.test(w) && !DIGIT.test(w) && w.replace(/['’-]/g, '').length >= CONTENT_WORD_LETTERS)
      .map((w) => w.toLowerCase()),
  );
  const points = 2 * names.size + 2 * (numbers.size + dates) + (hasDecision ? 1 : 0) + 0.5 * content.size;
  // "Hi Alice, how are you today?" or "Thanks so much for the lovely evening!" greet or thank, whatever they name.
  if (NUMBER.test(sentence) === false && !hasDecision && SMALL_TALK.test(sentence) && words.length <= 8) return 0;
  // A question asks for a fact more often than it states one ("Anything fun planned for the weekend?").
  const stated = /\?["'”’)]*$/u.test(sentence) ? points / 2 : points;
  return stated >= MIN_FACT_POINTS ? stated : 0;
}

/** A speaker's name, possessive or short form ("Samantha's", "Sam" for Samantha): naming a participant says nothing. */
function isSpeaker(word: string, speakers: ReadonlySet<string>): boolean {
  const w = word.replace(/['’]s$/u, '');
  if (speakers.has(w)) return true;
  for (const name of speakers) if (w.length >= 3 && name.startsWith(w)) return true;
  return false;
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
    /** Points per token: what the summary's room is spent on first. */
    density: number;
    order: number;
  }
  const speakers = new Set(turns.map((t) => t.speaker).filter((name) => !GENERIC_SPEAKERS.has(name)));
  const candidates: Candidate[] = [];
  turns.forEach((turn, i) => {
    throwIfAborted(opts.signal);
    for (const sentence of splitSentences(turn.text)) {
      const points = factPoints(sentence, speakers);
      if (points > 0) {
        const density = points / Math.max(1, counter.count(sentence));
        candidates.push({ turn: i, speaker: turn.speaker, text: sentence, density, order: candidates.length });
      }
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

  // Everything when it fits; otherwise the densest first (earlier on a tie) while they fit, shown in their order.
  if (counter.count(render(candidates)) <= maxTokens) return render(candidates);
  const kept = new Set<Candidate>();
  let used = counter.count(render([]));
  for (const c of candidates.slice().sort((a, b) => b.density - a.density || a.order - b.order)) {
    // Planned with the sentence and its speaker prefix; the exact count below has the last word.
    const cost = counter.count(`${c.speaker}: ${c.text}`) + 1;
    if (used + cost > maxTokens) continue;
    kept.add(c);
    used += cost;
  }
  let chosen = candidates.filter((c) => kept.has(c));
  while (chosen.length > 0 && counter.count(render(chosen)) > maxTokens) {
    const weakest = chosen.reduce((w, c) => (c.density < w.density || (c.density === w.density && c.order > w.order) ? c : w));
    chosen = chosen.filter((c) => c !== weakest);
  }
  return render(chosen);
}
