/**
 * Tekken's pre-tokenizer: cuts a text into the pieces BPE works within. The pattern (from the vocabulary file) is
 *
 *   1. [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+
 *   2. [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*
 *   3. \p{N}
 *   4.  ?[^\s\p{L}\p{N}]+[\r\n/]*
 *   5. \s*[\r\n]+
 *   6. \s+(?!\S)
 *   7. \s+
 *
 * Running that Unicode-property regex was three quarters of the cost of counting tokens (the context builder counts a
 * whole prompt several times per request; chunking counts every document). Where a piece and the characters that
 * decide its end are all ASCII, the scanner below applies the same alternatives with a lookup table; at any other
 * position it asks the regex itself, so the cut is the regex's everywhere. The unit tests hold the two equal on real
 * corpora and on random strings built to hit every boundary.
 */

const UPPER = 1;
const LOWER = 2;
const DIGIT = 4;
/** JavaScript's \s within ASCII: space, \t, \n, \v, \f, \r. */
const SPACE = 8;
const NEWLINE = 16;
/** Neither \s, a letter nor a digit: punctuation, symbols, other control characters. */
const OTHER = 32;
/** Alternatives 1 and 2 may start with one such character: [^\r\n\p{L}\p{N}]. */
const PREFIX = 64;

const ASCII = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  let k: number;
  if (c >= 0x41 && c <= 0x5a) k = UPPER;
  else if (c >= 0x61 && c <= 0x7a) k = LOWER;
  else if (c >= 0x30 && c <= 0x39) k = DIGIT;
  else if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) k = SPACE | (c === 0x0a || c === 0x0d ? NEWLINE : PREFIX);
  else k = OTHER | PREFIX;
  ASCII[c] = k;
}

/** No ASCII-only decision: the regex must cut here. */
const UNDECIDED = -1;

/** End of the run of characters of class `cls` from `from`; UNDECIDED if it stops at a non-ASCII character. */
function runEnd(text: string, from: number, cls: number): number {
  let i = from;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128) return UNDECIDED;
    if ((ASCII[c] & cls) === 0) break;
  }
  return i;
}

/** Alternatives 1 and 2 from a letter at `from`: upper case then lower case (1), else the upper-case run alone (2). */
function lettersEnd(text: string, from: number): number {
  const upper = runEnd(text, from, UPPER);
  if (upper === UNDECIDED) return UNDECIDED;
  const lower = runEnd(text, upper, LOWER);
  if (lower === UNDECIDED) return UNDECIDED;
  return lower > upper ? lower : upper;
}

/** Alternative 4 from `from`: a run of OTHER, then any \r, \n and '/' that follow. */
function symbolsEnd(text: string, from: number): number {
  const end = runEnd(text, from, OTHER);
  if (end === UNDECIDED) return UNDECIDED;
  let i = end;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x0a && c !== 0x0d && c !== 0x2f) break;
  }
  return i;
}

/** Alternatives 5-7 from whitespace at `from`. */
function spacesEnd(text: string, from: number): number {
  let lastNewline = -1;
  let i = from;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128) return UNDECIDED; // \s also holds no-break and other Unicode spaces
    const k = ASCII[c];
    if ((k & SPACE) === 0) break;
    if (k & NEWLINE) lastNewline = i;
  }
  if (lastNewline >= 0) return lastNewline + 1; // 5: through the run's last line break
  if (i === text.length) return i; // 6 at the end of the text
  return i - from > 1 ? i - 1 : i; // 6 leaves the last space to the word after it; 7 takes a lone one
}

/** Where the piece starting at `i` ends, deciding from ASCII characters only; UNDECIDED otherwise. */
function asciiPieceEnd(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c >= 128) return UNDECIDED;
  const k = ASCII[c];
  if (k & (UPPER | LOWER)) return lettersEnd(text, i);
  if (k & PREFIX && i + 1 < text.length) {
    const next = text.charCodeAt(i + 1);
    if (next >= 128) return UNDECIDED;
    const nk = ASCII[next];
    if (nk & (UPPER | LOWER)) return lettersEnd(text, i + 1);
    if (c === 0x20 && nk & OTHER) return symbolsEnd(text, i + 1);
  }
  if (k & DIGIT) return i + 1;
  if (k & OTHER) return symbolsEnd(text, i);
  return spacesEnd(text, i);
}

/**
 * Cuts texts into tekken's pieces: exactly the matches of the pattern run globally over the text (characters no
 * alternative matches would be skipped, as the regex skips them). A loop over `next` rather than a callback per piece:
 * counting calls it for every piece of every prompt and document.
 */
export class TekkenPieces {
  /** Where the piece `next` found starts (after `from` only if the regex skipped unmatched characters). */
  start = 0;
  private regex?: RegExp;

  constructor(private readonly pattern: string) {}

  /** The end of the next piece at or after `from` (its start in `start`), or -1 when the text has no more. */
  next(text: string, from: number): number {
    if (from >= text.length) return -1;
    const end = asciiPieceEnd(text, from);
    if (end !== UNDECIDED) {
      this.start = from;
      return end;
    }
    const re = (this.regex ??= new RegExp(this.pattern, 'gu'));
    re.lastIndex = from;
    const m = re.exec(text);
    if (m === null) return -1;
    this.start = m.index;
    return re.lastIndex;
  }
}

/** JavaScript's \s, which the pattern's \s is. */
const WHITESPACE = /\s/;

/**
 * Cuts a text into parts that no piece crosses, so its token count is the sum of theirs: a part ends after a '\n'
 * that a character other than whitespace and '/' follows. No alternative of the pattern takes a '\n' and then such a
 * character (1-3 never hold a newline, 4 allows only [\r\n/] after one, 5-7 are whitespace), and none looks behind,
 * so the pieces after the cut are those of the part on its own; before it, the only lookahead (6) is tried after 5,
 * which takes any whitespace run ending in '\n' whatever follows. Counting a long prompt by its parts lets a caller
 * remember each part's count: a context's blocks are mostly the lines of the previous question's.
 */
export function pieceAlignedParts(text: string): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let nl = text.indexOf('\n'); nl >= 0 && nl + 1 < text.length; nl = text.indexOf('\n', nl + 1)) {
    const next = text[nl + 1];
    if (next === '/' || WHITESPACE.test(next)) continue;
    parts.push(text.slice(start, nl + 1));
    start = nl + 1;
  }
  parts.push(text.slice(start));
  return parts;
}
