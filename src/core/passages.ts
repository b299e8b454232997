/**
 * Search hits merged into passages, the rules the context builder and search's `mergeAdjacent` share:
 * 1. Dedupe by chunkId (the first, i.e. best, occurrence wins).
 * 2. Merge chunks of one document with consecutive chunkIndex into one passage: when B's start appears in A's tail
 *    (the chunker's overlap) the duplicated text is removed, otherwise they are joined with a newline. A passage keeps
 *    the best score of its chunks, the union of their pages and the chunkId of its first chunk.
 * 3. Rank passages best score first (ties: the order search returned).
 */

/** What merging needs of a search hit. */
export interface MergeCandidate {
  chunkId: string;
  documentId: string;
  title: string;
  text: string;
  score: number;
  chunkIndex: number;
  pages: number[];
}

/** How far back in A's text the overlap with B's start is looked for (chunks overlap by up to ~64 tokens). */
export const DEFAULT_MAX_OVERLAP_CHARS = 2048;
/** The shortest run of B's start that counts as an overlap (shorter coincidences are joined with a newline). */
export const DEFAULT_MIN_OVERLAP_CHARS = 12;
export interface Passage {
  documentId: string;
  title: string;
  /** The first chunk of the merged run. */
  chunkId: string;
  chunkIds: string[];
  firstChunkIndex: number;
  lastChunkIndex: number;
  score: number;
  pages: number[];
  text: string;
  /** Position of its best chunk in the search results (ties on score keep search order). */
  order: number;
}

export interface MergeOptions {
  maxOverlapChars?: number;
  minOverlapChars?: number;
}

/**
 * B appended to A without the text they share: if B's start (at least minOverlap characters of it) appears in A's
 * last maxOverlap characters and A from there on is a prefix of B (or B lies whole inside that tail), the shared part
 * is kept once; otherwise A and B are joined with a newline.
 */
export function joinOverlapping(a: string, b: string, opts: MergeOptions = {}): string {
  const maxOverlap = opts.maxOverlapChars ?? DEFAULT_MAX_OVERLAP_CHARS;
  const minOverlap = opts.minOverlapChars ?? DEFAULT_MIN_OVERLAP_CHARS;
  const left = a.trimEnd();
  const right = b.trimStart();
  if (left === '') return right;
  if (right === '') return left;
  if (right.length >= minOverlap && minOverlap > 0) {
    const probe = right.slice(0, minOverlap);
    const tailStart = Math.max(0, left.length - maxOverlap);
    // The earliest match in the tail gives the longest overlap.
    for (let p = left.indexOf(probe, tailStart); p !== -1; p = left.indexOf(probe, p + 1)) {
      const shared = left.slice(p);
      if (right.startsWith(shared)) return left + right.slice(shared.length);
      if (shared.startsWith(right)) return left;
    }
  }
  return `${left}\n${right}`;
}

/** Dedupe by chunkId, merge consecutive chunks of a document, rank best first. */
export function mergeCandidates(candidates: readonly MergeCandidate[], opts: MergeOptions = {}): Passage[] {
  const seen = new Set<string>();
  const byDocument = new Map<string, { c: MergeCandidate; order: number }[]>();
  candidates.forEach((c, order) => {
    if (seen.has(c.chunkId)) return;
    seen.add(c.chunkId);
    const list = byDocument.get(c.documentId) ?? [];
    list.push({ c, order });
    byDocument.set(c.documentId, list);
  });
  const passages: Passage[] = [];
  for (const list of byDocument.values()) {
    list.sort((x, y) => x.c.chunkIndex - y.c.chunkIndex || x.order - y.order);
    let current: Passage | undefined;
    for (const { c, order } of list) {
      if (current !== undefined && c.chunkIndex === current.lastChunkIndex + 1) {
        current.text = joinOverlapping(current.text, c.text, opts);
        current.chunkIds.push(c.chunkId);
        current.lastChunkIndex = c.chunkIndex;
        if (c.score > current.score) current.score = c.score;
        current.order = Math.min(current.order, order);
        current.pages = unionPages(current.pages, c.pages);
        continue;
      }
      if (current !== undefined) passages.push(current);
      current = {
        documentId: c.documentId,
        title: c.title,
        chunkId: c.chunkId,
        chunkIds: [c.chunkId],
        firstChunkIndex: c.chunkIndex,
        lastChunkIndex: c.chunkIndex,
        score: c.score,
        pages: unionPages([], c.pages),
        text: c.text.trim(),
        order,
      };
    }
    if (current !== undefined) passages.push(current);
  }
  return passages.sort((x, y) => y.score - x.score || x.order - y.order);
}

function unionPages(a: readonly number[], b: readonly number[]): number[] {
  return [...new Set([...a, ...b])].sort((x, y) => x - y);
}
