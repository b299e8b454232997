/**
 * Text helpers of the offline provider: the context format it reads, sentence splitting and the abort check.
 *
 * ## Context format
 *
 * Retrieved chunks reach the model inside the chat messages (system and/or user messages; assistant turns are never
 * sources). Two shapes are read, and may be mixed:
 *
 * ```text
 * <context>
 * [1] Pricing guide (page 3)
 * The Pro plan costs 20 euros per month.
 * Annual billing gives two months free.
 *
 * [2] Security whitepaper
 * Data is encrypted at rest with AES-256.
 * </context>
 *
 * <document id="3" title="FAQ">
 * Refunds are processed within 14 days.
 * </document>
 * ```
 *
 * - `<context>` block: each chunk starts with a line `[n] Title` (the title, e.g. `Title (page 3)`, is optional); the
 *   chunk text runs until the next `[n]` line or the end of the block. A chunk whose marker line has no text below it
 *   uses the rest of the marker line as its text (`[1] The Pro plan costs 20 euros.`). Text before the first marker
 *   (instructions) is ignored. A missing `</context>` runs the block to the end of the message.
 * - `<document id="n" title="...">text</document>`: the id is the citation marker (`[n]`); a body that starts with
 *   its own `[n] Title` line has that line taken as the title. Documents without an id cannot be cited and are skipped.
 * - Without any delimiter, a system or earlier user message whose lines start with `[n]` is read as a `<context>`
 *   block. In the last user message (the question) bare markers are only read when a `Question:` line separates them
 *   from the question.
 *
 * The question is the last user message with its context blocks removed (and a leading `Question:`/`Q:` stripped).
 * Markers are compared as written between the brackets, so `[2]` is cited only when some chunk is tagged `[2]`.
 */
import type { ChatMessage } from '../../core/chat-message';
import { AppError } from '../../errors';

export interface ContextPassage {
  /** The citation marker without brackets, as written in the context (e.g. "2"). */
  marker: string;
  title?: string;
  text: string;
}

export interface ParsedChat {
  passages: ContextPassage[];
  question: string;
}

const DOCUMENT = /<document\b([^>]*)>([\s\S]*?)(?:<\/document\s*>|$)/gi;
const CONTEXT = /<context\b[^>]*>([\s\S]*?)(?:<\/context\s*>|$)/gi;
const MARKER_LINE = /^[ \t]*\[([A-Za-z0-9_.-]{1,16})\][ \t]*(.*)$/;
const QUESTION_LINE = /^[ \t]*(?:question|q)[ \t]*:[ \t]*/im;

function attr(attrs: string, name: string): string | undefined {
  const m = new RegExp(`\\b${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(attrs);
  if (m === null) return undefined;
  const v = (m[1] ?? m[2] ?? m[3] ?? '').trim();
  return v === '' ? undefined : v;
}

/** Chunks of a `<context>` body (or of an undelimited message): `[n] Title` lines followed by text. */
function parseMarkedChunks(body: string): ContextPassage[] {
  const out: ContextPassage[] = [];
  let current: { marker: string; head: string; lines: string[] } | undefined;
  const flush = () => {
    if (current === undefined) return;
    const text = current.lines.join('\n').trim();
    const head = current.head.trim();
    if (text !== '') out.push({ marker: current.marker, ...(head !== '' ? { title: head } : {}), text });
    else if (head !== '') out.push({ marker: current.marker, text: head });
  };
  for (const line of body.split(/\r?\n/)) {
    const m = MARKER_LINE.exec(line);
    if (m !== null) {
      flush();
      current = { marker: m[1], head: m[2], lines: [] };
    } else if (current !== undefined) {
      current.lines.push(line);
    }
  }
  flush();
  return out;
}

/** Context blocks of one message, and the message text with those blocks removed. */
export function parseContextBlocks(text: string): { passages: ContextPassage[]; rest: string } {
  const passages: ContextPassage[] = [];
  let rest = text.replace(DOCUMENT, (_all, attrs: string, body: string) => {
    let marker = attr(attrs, 'id');
    let title = attr(attrs, 'title');
    let content = body;
    const first = /^\s*\[([A-Za-z0-9_.-]{1,16})\][ \t]*(.*)\r?\n([\s\S]*)$/.exec(body);
    if (first !== null && (marker === undefined || marker === first[1]) && first[3].trim() !== '') {
      marker = first[1];
      title ??= first[2].trim() || undefined;
      content = first[3];
    }
    if (marker !== undefined && content.trim() !== '') {
      passages.push({ marker, ...(title !== undefined ? { title } : {}), text: content.trim() });
    }
    return '\n';
  });
  rest = rest.replace(CONTEXT, (_all, body: string) => {
    passages.push(...parseMarkedChunks(body));
    return '\n';
  });
  return { passages, rest: rest.trim() };
}

/**
 * The chunks of every system and user message and the question (the last user message without its context). See
 * the module comment for the format. Tolerant: anything it does not recognise is simply not a source.
 */
export function parseChatContext(messages: ChatMessage[]): ParsedChat {
  let lastUser = -1;
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i].role === 'user') {
      lastUser = i;
      break;
    }
  }
  const passages: ContextPassage[] = [];
  let question = '';
  messages.forEach((msg, i) => {
    if (msg.role === 'assistant') return;
    const { passages: found, rest } = parseContextBlocks(msg.content);
    passages.push(...found);
    if (i === lastUser) {
      const q = QUESTION_LINE.exec(rest);
      if (q !== null) {
        passages.push(...parseMarkedChunks(rest.slice(0, q.index)));
        question = rest.slice(q.index + q[0].length).trim();
      } else {
        question = rest;
      }
    } else if (found.length === 0) {
      passages.push(...parseMarkedChunks(rest));
    }
  });
  return { passages, question };
}

const ABBREVIATIONS = new Set(
  (
    'mr mrs ms dr prof sr jr st vs etc eg e.g ie i.e cf fig figs no nos vol pp approx inc ltd co corp dept est ' +
    'jan feb mar apr jun jul aug sep sept oct nov dec mon tue wed thu fri sat sun al ca resp'
  ).split(' '),
);

/** Where `text` may end a sentence after `end` (exclusive): not after an abbreviation, an initial or inside a number. */
function isBoundary(text: string, punctStart: number, next: string): boolean {
  if (!/[\p{Lu}\p{N}"'“‘([\p{Lo}]/u.test(next)) return false;
  if (text[punctStart] !== '.') return true;
  const before = /([\p{L}.]+)$/u.exec(text.slice(Math.max(0, punctStart - 12), punctStart));
  if (before === null) return true;
  const word = before[1].toLowerCase();
  if (ABBREVIATIONS.has(word) || ABBREVIATIONS.has(word.replace(/\.$/, ''))) return false;
  if (/^\p{Lu}$/u.test(before[1])) return false; // an initial: "J. Smith"
  return true;
}

/** Footnote-like `[12]` markers inside chunk text: removed so that an answer never cites what the context did not. */
const INLINE_MARKER = /\s*\[\d{1,4}\]/g;

/**
 * Sentences of `text`, in order. Blank lines and list items end sentences; other line breaks (hard-wrapped PDF text)
 * are spaces. A sentence ends at `.`, `!`, `?` or `…` followed by space and a capital, digit or quote, except after
 * common abbreviations and initials.
 */
export function splitSentences(text: string): string[] {
  const units: string[] = [];
  for (const para of text.replace(/\r\n?/g, '\n').split(/\n[ \t]*\n/)) {
    let current = '';
    for (const rawLine of para.split('\n')) {
      const line = rawLine.trim();
      if (line === '') continue;
      if (/^(?:[-*•–]|\d{1,3}[.)])\s+/.test(line) || /^#{1,6}\s/.test(line)) {
        if (current !== '') units.push(current);
        current = line.replace(/^(?:[-*•–]|#{1,6})\s+/, '');
        if (/^#{1,6}\s/.test(line)) {
          units.push(current);
          current = '';
        }
      } else {
        current = current === '' ? line : current.endsWith('-') ? current.slice(0, -1) + line : `${current} ${line}`;
      }
    }
    if (current !== '') units.push(current);
  }
  const sentences: string[] = [];
  const END = /[.!?…]+["'”’)\]]*\s+/g;
  for (const unit of units) {
    let start = 0;
    let m: RegExpExecArray | null;
    END.lastIndex = 0;
    while ((m = END.exec(unit)) !== null) {
      const next = unit.charAt(m.index + m[0].length);
      if (next !== '' && isBoundary(unit, m.index, next)) {
        sentences.push(unit.slice(start, m.index + m[0].length));
        start = m.index + m[0].length;
      }
    }
    sentences.push(unit.slice(start));
  }
  return sentences.map((s) => s.replace(INLINE_MARKER, '').replace(/\s+/g, ' ').trim()).filter((s) => /[\p{L}\p{N}]/u.test(s));
}

/** The error for a request whose signal aborted: not retryable, 499 as nginx's "client closed request". */
function abortedError(signal: AbortSignal): AppError {
  return new AppError('aborted', 'the request was aborted', undefined, { cause: signal.reason, retryable: false });
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortedError(signal);
}
