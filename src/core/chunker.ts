import { RecursiveCharacterTextSplitter } from '@langchain/textsplitters';
import type { PieceCounts, TokenCounter } from './tokens/token-counter';
import { HEADED_FORMATS, type PageSpan, type ParsedDocument, type SourceFormat, type TextChunk } from './parsed-document';

/** Tokens per chunk: room for several chunks plus the conversation in a context window, yet specific enough to rank. */
export const DEFAULT_CHUNK_SIZE = 512;
/** Tokens repeated between consecutive chunks so that a sentence cut at a boundary is whole in one of them. */
export const DEFAULT_CHUNK_OVERLAP = 64;
/** Below this a chunk holds too little to embed usefully, and the boundary slack of token counting gets relatively large. */
export const MIN_CHUNK_SIZE = 16;

export interface ChunkerOptions {
  tokenCounter: TokenCounter;
  /** Most tekken tokens in a chunk. Default DEFAULT_CHUNK_SIZE. */
  chunkSize?: number;
  /** Tokens shared with the previous chunk, at most; less than chunkSize. Default DEFAULT_CHUNK_OVERLAP. */
  chunkOverlap?: number;
}

/**
 * Splits a parsed document into chunks of at most chunkSize tekken tokens.
 *
 * The algorithm is LangChain's RecursiveCharacterTextSplitter (keepSeparator: the separator starts the next piece;
 * split on the first separator present, merge neighbours up to chunkSize keeping up to chunkOverlap, recurse into
 * pieces still too large) with LangChain's own separators, but run over character spans of the original text: every
 * length comes from the prefix sums of one tokenisation pass (TokenCounter.pieceCounts) instead of re-tokenising each
 * candidate piece, which is what makes LangChain with a token length function slow. Spans also give each chunk its
 * pages and heading path from offsets.
 */
export class Chunker {
  readonly chunkSize: number;
  readonly chunkOverlap: number;
  private readonly tokenCounter: TokenCounter;
  private readonly markdownSeparators: readonly string[];
  private readonly defaultSeparators: readonly string[];

  constructor(opts: ChunkerOptions) {
    this.tokenCounter = opts.tokenCounter;
    this.chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
    this.chunkOverlap = opts.chunkOverlap ?? DEFAULT_CHUNK_OVERLAP;
    if (!Number.isInteger(this.chunkSize) || this.chunkSize < MIN_CHUNK_SIZE) {
      throw new RangeError(`chunkSize must be an integer >= ${MIN_CHUNK_SIZE}, got ${this.chunkSize}`);
    }
    if (!Number.isInteger(this.chunkOverlap) || this.chunkOverlap < 0 || this.chunkOverlap >= this.chunkSize) {
      throw new RangeError(`chunkOverlap must be an integer in [0, chunkSize), got ${this.chunkOverlap}`);
    }
    this.markdownSeparators = RecursiveCharacterTextSplitter.getSeparatorsForLanguage('markdown');
    this.defaultSeparators = new RecursiveCharacterTextSplitter().separators;
  }

  chunk(doc: ParsedDocument): TextChunk[] {
    const text = doc.text;
    if (!/\S/.test(text)) return [];
    const run = new ChunkRun(text, this.tokenCounter, this.tokenCounter.pieceCounts(text), this.chunkSize, this.chunkOverlap);
    const spans: number[] = [];
    run.split(0, text.length, this.separatorsFor(doc.format), 0, spans);

    // Headings exist where the source had them: markdown, and HTML and Word (their parsers write Markdown).
    const headings = HEADED_FORMATS.has(doc.format) ? new HeadingIndex(text) : undefined;
    const chunks: TextChunk[] = [];
    for (let k = 0; k < spans.length; k += 2) {
      // LangChain's merge can close a last chunk that lies inside the one before it (a few tokens of its overlap): it
      // would add nothing.
      if (chunks.length > 0 && spans[k + 1] <= chunks[chunks.length - 1].end) continue;
      for (const [start, end, tokenCount] of run.within(spans[k], spans[k + 1], spans[k - 1] ?? 0, spans[k + 2] ?? Infinity)) {
        if (chunks.length > 0 && end <= chunks[chunks.length - 1].end) continue; // a part inside the chunk before
        chunks.push({
          index: chunks.length,
          text: text.slice(start, end),
          tokenCount,
          start,
          end,
          pages: doc.pages ? pagesOverlapping(doc.pages, start, end) : [],
          headingPath: headings ? headings.pathAt(start) : [],
        });
      }
    }
    return chunks;
  }

  private separatorsFor(format: SourceFormat): readonly string[] {
    return format === 'markdown' ? this.markdownSeparators : this.defaultSeparators;
  }
}

/** The state of chunking one text: its token prefix sums and, per separator, where it occurs. */
class ChunkRun {
  private readonly occurrences = new Map<string, Int32Array>();

  constructor(
    private readonly text: string,
    private readonly counter: TokenCounter,
    readonly counts: PieceCounts,
    private readonly chunkSize: number,
    private readonly chunkOverlap: number,
  ) {}

  /**
   * LangChain's `_splitText` over text[s, e): appends chunk spans as (start, end) pairs to `out`.
   * `from` indexes the first separator still to try.
   */
  split(s: number, e: number, separators: readonly string[], from: number, out: number[]): void {
    let separator = separators[separators.length - 1];
    let next = -1; // index of the separators left for recursion; -1 when none (as LangChain's newSeparators)
    for (let i = from; i < separators.length; i++) {
      const sep = separators[i];
      if (sep === '') {
        separator = sep;
        break;
      }
      if (this.occursIn(sep, s, e)) {
        separator = sep;
        next = i + 1;
        break;
      }
    }

    // Good pieces (shorter than chunkSize) wait here, contiguous, until merged.
    const starts: number[] = [];
    const ends: number[] = [];
    const lens: number[] = [];
    const visit = (a: number, b: number) => {
      const len = this.counts.between(a, b);
      if (len < this.chunkSize) {
        starts.push(a);
        ends.push(b);
        lens.push(len);
        return;
      }
      if (starts.length > 0) {
        this.merge(starts, ends, lens, out);
        starts.length = ends.length = lens.length = 0;
      }
      if (next < 0 || next >= separators.length) out.push(...trimmed(this.text, a, b));
      else this.split(a, b, separators, next, out);
    };

    if (separator === '') {
      // By code point, not UTF-16 unit as LangChain does: a surrogate pair is never cut.
      for (let a = s; a < e;) {
        const b = a + (isHighSurrogate(this.text.charCodeAt(a)) && a + 1 < e ? 2 : 1);
        visit(a, b);
        a = b;
      }
    } else {
      // keepSeparator: cut before every occurrence (overlapping ones too, as a lookahead split does) except at s.
      const occ = this.occurrencesOf(separator);
      let a = s;
      for (let k = lowerBound(occ, s + 1); k < occ.length && occ[k] + separator.length <= e; k++) {
        visit(a, occ[k]);
        a = occ[k];
      }
      visit(a, e);
    }
    if (starts.length > 0) this.merge(starts, ends, lens, out);
  }

  /** LangChain's `mergeSplits` with an empty join separator (keepSeparator): the pieces are contiguous spans. */
  private merge(starts: number[], ends: number[], lens: number[], out: number[]): void {
    let head = 0;
    let total = 0;
    for (let k = 0; k < lens.length; k++) {
      const len = lens[k];
      if (total + len > this.chunkSize && k > head) {
        out.push(...trimmed(this.text, starts[head], ends[k - 1]));
        while (total > this.chunkOverlap || (total + len > this.chunkSize && total > 0)) {
          total -= lens[head];
          head++;
        }
      }
      total += len;
    }
    out.push(...trimmed(this.text, starts[head], ends[lens.length - 1]));
  }

  /**
   * The chunk text[a, b) with its exact token count, made to fit when it does not. LangChain's merge adds up the
   * pieces' counts, but a chunk is stored trimmed: a piece starts with its separator (" affect", one token) and a chunk
   * starting there loses the space ("affect", two tokens), so about 1% of chunks came out one to four tokens over
   * chunkSize. Such a chunk first gives up words of its overlap with the previous chunk (`prevEnd`: the overlap is
   * "at most chunkOverlap"); if that is not enough it ends at the last word that fits, and the words cut off are left
   * to the next chunk when its overlap starts at or before them (`nextStart`), or else become a chunk of their own.
   */
  within(a: number, b: number, prevEnd: number, nextStart: number): Array<[number, number, number]> {
    const out: Array<[number, number, number]> = [];
    for (;;) {
      const tokens = this.exact(a, b);
      if (tokens <= this.chunkSize) {
        out.push([a, b, tokens]);
        return out;
      }
      const later = this.laterStartFitting(a, Math.min(prevEnd, b), b);
      if (later !== undefined) {
        out.push([later, b, this.exact(later, b)]);
        return out;
      }
      const cut = trimmed(this.text, a, this.longestFitting(a, b));
      const end = cut[1] ?? b;
      out.push([a, end, this.exact(a, end)]);
      const rest = trimmed(this.text, end, b);
      if (rest.length === 0 || nextStart <= rest[0]) return out;
      [a, b, prevEnd] = [rest[0], rest[1], end];
    }
  }

  /** The earliest word start in (a, limit] from which text[start, b) fits chunkSize, if any. */
  private laterStartFitting(a: number, limit: number, b: number): number | undefined {
    for (let i = this.text.indexOf(' ', a + 1); i !== -1 && i < limit; i = this.text.indexOf(' ', i + 1)) {
      const [start] = trimmed(this.text, i, b);
      if (start !== undefined && start <= limit && this.exact(start, b) <= this.chunkSize) return start;
    }
    return undefined;
  }

  private exact(a: number, b: number): number {
    return this.counts.exact(a, b);
  }

  /** The furthest end in (a, b) at a word start (else a code point) such that text[a, end) fits chunkSize. */
  private longestFitting(a: number, b: number): number {
    const text = this.text;
    // Never between the halves of a surrogate pair.
    const snap = (x: number) => (x > a + 1 && isHighSurrogate(text.charCodeAt(x - 1)) ? x - 1 : x);
    let lo = snap(Math.min(b, a + 2)); // one code point fits: chunkSize >= MIN_CHUNK_SIZE, a code point is at most 4 tokens
    let hi = b - 1;
    while (lo < hi) {
      const mid = snap((lo + hi + 1) >>> 1);
      if (mid <= lo) break;
      if (this.counter.count(text.slice(a, mid)) <= this.chunkSize) lo = mid;
      else hi = mid - 1;
    }
    // A word boundary when the prefix up to it still fits (counts grow with the prefix, but not strictly by character).
    const space = text.lastIndexOf(' ', lo);
    return space > a && this.counter.count(text.slice(a, space)) <= this.chunkSize ? space : lo;
  }

  private occursIn(sep: string, s: number, e: number): boolean {
    const occ = this.occurrencesOf(sep);
    const k = lowerBound(occ, s);
    return k < occ.length && occ[k] + sep.length <= e;
  }

  /** Every start of `sep` in the text, ascending, overlapping ones included: one scan per separator per document. */
  private occurrencesOf(sep: string): Int32Array {
    let occ = this.occurrences.get(sep);
    if (occ === undefined) {
      const found: number[] = [];
      for (let i = this.text.indexOf(sep); i !== -1; i = this.text.indexOf(sep, i + 1)) found.push(i);
      occ = Int32Array.from(found);
      this.occurrences.set(sep, occ);
    }
    return occ;
  }
}

/** [start, end] of text[a, b) without surrounding whitespace (as String.prototype.trim), or [] if nothing is left. */
function trimmed(text: string, a: number, b: number): number[] {
  while (a < b && isWhitespace(text.charCodeAt(a))) a++;
  while (b > a && isWhitespace(text.charCodeAt(b - 1))) b--;
  return a < b ? [a, b] : [];
}

/** The characters String.prototype.trim removes (WhiteSpace and LineTerminator). */
function isWhitespace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

/** First index of the ascending `arr` whose value is >= x. */
function lowerBound(arr: Int32Array, x: number): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Numbers of the pages (ascending by start) that share at least one character with [start, end). */
function pagesOverlapping(pages: PageSpan[], start: number, end: number): number[] {
  let lo = 0;
  let hi = pages.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pages[mid].end <= start) lo = mid + 1;
    else hi = mid;
  }
  const nums: number[] = [];
  for (let i = lo; i < pages.length && pages[i].start < end; i++) {
    if (pages[i].end > pages[i].start) nums.push(pages[i].num);
  }
  return nums;
}

/**
 * The markdown ATX headings (`#`..`######`) of a text, outside fenced code blocks (where `#` is a comment), with the
 * heading path (outermost first) in force from each one on.
 */
class HeadingIndex {
  private readonly offsets: number[] = [];
  private readonly paths: string[][] = [];

  constructor(text: string) {
    const stack: { level: number; title: string }[] = [];
    let fence: { char: number; length: number } | undefined;
    for (let lineStart = 0; lineStart < text.length;) {
      const nl = text.indexOf('\n', lineStart);
      const lineEnd = nl === -1 ? text.length : nl;
      // Cheap pre-check: only lines whose first non-space character is #, ` or ~ can matter.
      let i = lineStart;
      while (i < lineEnd && i - lineStart < 4 && text.charCodeAt(i) === 0x20) i++;
      const c = text.charCodeAt(i);
      if (i - lineStart < 4 && (c === 0x23 || c === 0x60 || c === 0x7e)) {
        const line = text.slice(lineStart, lineEnd);
        const fenceMatch = FENCE.exec(line);
        if (fenceMatch) {
          const marker = fenceMatch[1];
          if (!fence) fence = { char: marker.charCodeAt(0), length: marker.length };
          else if (marker.charCodeAt(0) === fence.char && marker.length >= fence.length && fenceMatch[2].trim() === '') {
            fence = undefined;
          }
        } else if (!fence && c === 0x23) {
          const h = ATX_HEADING.exec(line);
          const title = h?.[2]?.replace(CLOSING_HASHES, '').trim();
          if (h && title) {
            const level = h[1].length;
            while (stack.length > 0 && stack[stack.length - 1].level >= level) stack.pop();
            stack.push({ level, title });
            this.offsets.push(lineStart);
            this.paths.push(stack.map((e) => e.title));
          }
        }
      }
      lineStart = lineEnd + 1;
    }
  }

  /** The heading path in force at `offset`: that of the last heading starting at or before it. */
  pathAt(offset: number): string[] {
    let lo = 0;
    let hi = this.offsets.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.offsets[mid] <= offset) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? [] : [...this.paths[lo - 1]];
  }
}

const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/;
const ATX_HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*))?$/;
/** An ATX heading may end with a run of #s preceded by a space, which is not part of its title. */
const CLOSING_HASHES = /(?:^|[ \t]+)#+[ \t]*$/;
