import fs from 'node:fs';
import path from 'node:path';
import { chunkId } from '../src/ingest/chunk-id';
import type { ChunkRecord } from '../src/stores/vector/vector-store';

/** ../shared/data beside the repository (never copied into it). */
export const SHARED_DATA = path.resolve(__dirname, '../../shared/data');

/** A seeded PRNG (mulberry32): the same corpus every run. */
export function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let sentencesCache: string[] | undefined;
/** Real scientific prose: the sentences of SciFact's abstracts. */
export function scifactSentences(): string[] {
  if (sentencesCache) return sentencesCache;
  const lines = fs.readFileSync(path.join(SHARED_DATA, 'scifact/corpus.jsonl'), 'utf8').split('\n');
  const out: string[] = [];
  for (const line of lines) {
    if (!line.trim()) continue;
    const { text } = JSON.parse(line) as { text: string };
    for (const s of text.split(/(?<=[.!?])\s+/)) if (s.length > 20) out.push(s);
  }
  sentencesCache = out;
  return out;
}

/**
 * `count` documents of about `bytesEach` bytes, made of shuffled real sentences grouped in paragraphs, so every
 * document is distinct (no duplicate detection shortcut) and tokenises like real text.
 */
export function generateDocuments(count: number, bytesEach: number, seed: number): string[] {
  const sentences = scifactSentences();
  const rand = rng(seed);
  const docs: string[] = [];
  for (let d = 0; d < count; d++) {
    const parts: string[] = [];
    let size = 0;
    let inParagraph = 0;
    while (size < bytesEach) {
      const s = sentences[Math.floor(rand() * sentences.length)];
      parts.push(s);
      size += s.length + 1;
      if (++inParagraph >= 4 + Math.floor(rand() * 5)) {
        parts.push('\n\n');
        inParagraph = 0;
      } else parts.push(' ');
    }
    docs.push(parts.join('').trim());
  }
  return docs;
}

/** A bench document's chunk as the store holds it (without its vector). */
export function benchChunk(
  doc: number,
  c: { index: number; text: string; tokenCount: number; pages: number[]; headingPath: string[] },
  metadata: Record<string, string | number | boolean> = {},
): Omit<ChunkRecord, 'vector'> {
  return {
    id: chunkId(`doc${doc}`, 1, c.index),
    tenant: 'bench',
    collection: 'default',
    documentId: `doc${doc}`,
    documentVersion: 1,
    chunkIndex: c.index,
    title: `Document ${doc}`,
    text: c.text,
    tokenCount: c.tokenCount,
    pages: c.pages,
    headingPath: c.headingPath,
    metadata,
  };
}
