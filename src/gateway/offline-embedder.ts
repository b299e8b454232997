import type { Embedder } from './embedder';

export const DEFAULT_OFFLINE_DIMENSIONS = 384;

/**
 * Weights per feature: words count most, word pairs add phrase sense, character n-grams (a dozen per word, so lower
 * each) match word forms ("indexing" ~ "indexed") and soften bucket collisions. 0.5 was best on SciFact (nDCG@10 0.44
 * at 384 dimensions, vs 0.35 at 0.15 and a plateau up to 1).
 */
const WORD_WEIGHT = 1;
const BIGRAM_WEIGHT = 0.5;
const CHAR_NGRAM_WEIGHT = 0.5;
const MIN_NGRAM = 3;
const MAX_NGRAM = 5;

/** Seeds keep the feature kinds apart: the word "abc" and the n-gram "abc" land in unrelated buckets. */
const WORD_SEED = 0x811c9dc5; // FNV-1a offset basis
const BIGRAM_SEED = 0x5bd1e995;
const NGRAM_SEED = 0x1b873593;
/** Word-boundary markers for character n-grams, outside any text's characters after normalisation. */
const WORD_START = 0x02;
const WORD_END = 0x03;

export interface OfflineEmbedderOptions {
  /** Vector length. Default DEFAULT_OFFLINE_DIMENSIONS. */
  dimensions?: number;
  /** The name recorded with the index. Default OFFLINE_EMBED_MODEL; other sizes are `offline-hash-v1-<dimensions>`. */
  model?: string;
}

const OFFLINE_EMBED_MODEL = 'offline-hash-v1';
/** `offline-hash-v1-<dimensions>`: the same embedder at another size, a distinct model for the indexes. */
const SIZED_OFFLINE_MODEL = new RegExp(`^${OFFLINE_EMBED_MODEL}-([1-9][0-9]{0,4})$`);

/** The vector size an offline model name asks for, or undefined when the name is not an offline sized model. */
export function offlineModelDimensions(model: string): number | undefined {
  const match = SIZED_OFFLINE_MODEL.exec(model);
  return match ? Number(match[1]) : undefined;
}

/**
 * A deterministic, weight-free embedder for local runs and tests (production uses Mistral embeddings): signed feature
 * hashing of word unigrams and bigrams and of character 3-5-grams of each word, with sublinear term frequency
 * (1 + ln tf), L2-normalised. Text is NFKC-normalised and lower-cased; accents are kept (stripping them would also
 * strip the vowel signs some scripts are written with). It captures lexical similarity only: texts that share words
 * (or word parts) come out close, paraphrases with other words do not.
 */
export class OfflineEmbedder implements Embedder {
  readonly model: string;
  readonly dimensions: number;
  readonly lexical = true;
  /** Reused across texts (embedding is synchronous, so one text at a time). */
  private readonly features = new FeatureTable();
  /** Whether each BMP character is a word character, learnt on first sight: 0 unknown, 1 word, 2 not. */
  private readonly wordChars = new Uint8Array(0x10000);

  constructor(opts: OfflineEmbedderOptions = {}) {
    this.model = opts.model ?? OFFLINE_EMBED_MODEL;
    this.dimensions = opts.dimensions ?? DEFAULT_OFFLINE_DIMENSIONS;
    if (!Number.isInteger(this.dimensions) || this.dimensions < 1 || this.dimensions > 65_536) {
      throw new RangeError(`dimensions must be an integer in [1, 65536], got ${this.dimensions}`);
    }
  }

  async embed(texts: string[], opts?: { signal?: AbortSignal }): Promise<Float32Array[]> {
    const vectors: Float32Array[] = [];
    for (const text of texts) {
      opts?.signal?.throwIfAborted();
      vectors.push(this.embedOne(text));
    }
    return vectors;
  }

  /** One text's vector; all zeros when it has no word characters. */
  embedOne(text: string): Float32Array {
    const s = text.normalize('NFKC').toLowerCase();
    const table = this.features;
    const wordChars = this.wordChars;
    table.reset();

    let prevWord = 0;
    let hasPrev = false;
    for (let i = 0; i < s.length;) {
      if (!isWordCharAt(s, i, wordChars)) {
        i++;
        continue;
      }
      const start = i;
      while (i < s.length && isWordCharAt(s, i, wordChars)) i++;
      const word = hashRange(s, start, i, WORD_SEED);
      table.add(word, WORD_WEIGHT);
      if (hasPrev) table.add(fmix(Math.imul(prevWord, 0x9e3779b1) ^ word ^ BIGRAM_SEED), BIGRAM_WEIGHT);
      prevWord = word;
      hasPrev = true;
      addCharNgrams(table, s, start, i);
    }

    const v = new Float32Array(this.dimensions);
    const n = table.size;
    for (let k = 0; k < n; k++) {
      const h = fmix(table.keyAt(k));
      const w = table.weightAt(k) * (1 + Math.log(table.countAt(k)));
      const bucket = (h >>> 1) % this.dimensions;
      v[bucket] += (h & 1) === 0 ? w : -w; // the sign keeps colliding features from adding up on average
    }
    let norm = 0;
    for (let d = 0; d < v.length; d++) norm += v[d] * v[d];
    if (norm > 0) {
      const inv = 1 / Math.sqrt(norm);
      for (let d = 0; d < v.length; d++) v[d] *= inv;
    }
    return v;
  }
}

/** The character 3-5-grams of s[start, end) framed by boundary markers, hashed without building substrings. */
function addCharNgrams(table: FeatureTable, s: string, start: number, end: number): void {
  const framedLength = end - start + 2;
  for (let i = 0; i + MIN_NGRAM <= framedLength; i++) {
    let h = NGRAM_SEED;
    for (let n = 1; n <= MAX_NGRAM && i + n <= framedLength; n++) {
      const p = i + n - 1; // position in the framed word
      const c = p === 0 ? WORD_START : p === framedLength - 1 ? WORD_END : s.charCodeAt(start + p - 1);
      h = Math.imul(h ^ c, 0x01000193);
      if (n >= MIN_NGRAM) table.add(h ^ n, CHAR_NGRAM_WEIGHT);
    }
  }
}

/** FNV-1a over UTF-16 units of s[start, end). */
function hashRange(s: string, start: number, end: number, seed: number): number {
  let h = seed;
  for (let i = start; i < end; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

/** murmur3's finaliser: spreads FNV's weak low bits before taking a bucket and a sign. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

const WORD_CHAR = /[\p{L}\p{N}\p{M}]/u;

/** Letters, digits and combining marks make words. `cache` remembers the answer for BMP characters. */
function isWordCharAt(s: string, i: number, cache: Uint8Array): boolean {
  const c = s.charCodeAt(i);
  if (c < 0x80) return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a);
  if (c >= 0xd800 && c <= 0xdfff) {
    // Astral characters (CJK extensions, emoji): classify the whole code point, for either of its halves.
    const cp = s.codePointAt(c <= 0xdbff ? i : i - 1) ?? c;
    return WORD_CHAR.test(String.fromCodePoint(cp));
  }
  let k = cache[c];
  if (k === 0) {
    k = WORD_CHAR.test(String.fromCharCode(c)) ? 1 : 2;
    cache[c] = k;
  }
  return k === 1;
}

/**
 * Feature hash -> (count, weight), open addressing in typed arrays reused from text to text: counting n-grams this
 * way allocates nothing per feature, which is what keeps embedding fast.
 */
class FeatureTable {
  private capacity = 1 << 12;
  private keys = new Int32Array(this.capacity);
  private stamps = new Uint32Array(this.capacity); // slot is in use when its stamp is the current generation
  private counts = new Float64Array(this.capacity);
  private weights = new Float32Array(this.capacity);
  private order = new Int32Array(this.capacity >> 1); // used slots in insertion order
  private generation = 1;
  size = 0;

  reset(): void {
    this.size = 0;
    this.generation++;
    if (this.generation === 0xffffffff) {
      this.stamps.fill(0);
      this.generation = 1;
    }
  }

  add(key: number, weight: number): void {
    const mask = this.capacity - 1;
    let slot = fmix(key) & mask;
    while (this.stamps[slot] === this.generation) {
      if (this.keys[slot] === key) {
        this.counts[slot]++;
        return;
      }
      slot = (slot + 1) & mask;
    }
    this.stamps[slot] = this.generation;
    this.keys[slot] = key;
    this.counts[slot] = 1;
    this.weights[slot] = weight;
    this.order[this.size++] = slot;
    if (this.size >= this.capacity >> 1) this.grow();
  }

  keyAt(k: number): number {
    return this.keys[this.order[k]];
  }

  countAt(k: number): number {
    return this.counts[this.order[k]];
  }

  weightAt(k: number): number {
    return this.weights[this.order[k]];
  }

  private grow(): void {
    const old = { keys: this.keys, counts: this.counts, weights: this.weights, order: this.order, size: this.size };
    this.capacity *= 2;
    this.keys = new Int32Array(this.capacity);
    this.stamps = new Uint32Array(this.capacity);
    this.counts = new Float64Array(this.capacity);
    this.weights = new Float32Array(this.capacity);
    this.order = new Int32Array(this.capacity >> 1);
    this.generation = 1;
    this.size = 0;
    const mask = this.capacity - 1;
    for (let k = 0; k < old.size; k++) {
      const from = old.order[k];
      let slot = fmix(old.keys[from]) & mask;
      while (this.stamps[slot] === this.generation) slot = (slot + 1) & mask;
      this.stamps[slot] = this.generation;
      this.keys[slot] = old.keys[from];
      this.counts[slot] = old.counts[from];
      this.weights[slot] = old.weights[from];
      this.order[this.size++] = slot;
    }
  }
}
