import type { Embedder } from '../gateway/embedder';
import { chunkId } from '../ingest/chunk-id';
import { DEFAULT_RRF_K, reciprocalRankFusion } from '../core/rrf';
import type { SessionRecord, StoredMessage } from '../stores/session/session-types';
import type { ChunkRecord, SearchMode, VectorStore } from '../stores/vector/vector-store';

/**
 * The reserved collection that holds every session's messages in the vector store. User collections may not start
 * with `_` (the HTTP layer refuses them), so documents and session memory never mix.
 */
export const SESSION_COLLECTION = '_sessions';
/** Messages embedded per embedder call. */
export const DEFAULT_RECALL_EMBED_BATCH = 64;
/** Session messages are never re-versioned: a message is immutable once appended. */
const MESSAGE_VERSION = 1;

export interface SessionRecallIndexOptions {
  /** Messages per embedder call; default `DEFAULT_RECALL_EMBED_BATCH`. */
  embedBatchSize?: number;
  /**
   * Weight of the dense (meaning) side against the keyword side in recall's fusion (0 skips the dense search).
   * Default: 1, or LEXICAL_EMBEDDER_DENSE_WEIGHT for a lexical embedder (the offline hashing one), whose vectors carry
   * word overlap rather than meaning: on the LoCoMo slice they only blurred what the keyword side found (evidence recall at 4,096
   * tokens: 75.4% at weight 0, 74.8% at 0.25, 72.8% at 0.5), so with it recall is by keywords alone.
   */
  denseWeight?: number;
  /**
   * Where earlier versions kept session messages (the documents' LanceDB tables, before session memory had tables of
   * its own). Searched too, per tenant, only while it still holds that tenant's messages; deletes reach it as well.
   */
  legacy?: VectorStore;
}

export const LEXICAL_EMBEDDER_DENSE_WEIGHT = 0;

/**
 * Equal scores are common in keyword search over short messages (the same query terms, once each, in messages of
 * similar length), and LanceDB returns such ties in a different order from one call to the next (on LoCoMo's conv-30,
 * 31 of 81 questions had a different top 40 over four identical searches). Ties go to the newer message, and each
 * side asks the store for TIE_MARGIN more hits than it keeps, so the same question always recalls the same turns.
 */
const TIE_MARGIN = 0.25;
const TIE_ORDER = -1;

export interface RecallHit {
  seq: number;
  score: number;
}

/**
 * The vector-store document of one session generation. The generation is part of it, so vectors of a deleted and
 * recreated session (same id, new generation) can never be recalled into the new one.
 */
export const sessionDocumentId = (sessionId: string, generation: string) => `session:${sessionId}:${generation}`;

/**
 * Long-term recall of a conversation: every message is a chunk (chunkIndex = seq) of the session's document in the
 * `_sessions` collection of the existing vector store, with a deterministic id, so re-indexing a message overwrites it.
 * Search is hybrid by default (keyword and dense sides fused here by weighted RRF) and limited to the session's current
 * generation.
 */
export class SessionRecallIndex {
  private readonly embedBatchSize: number;
  private readonly denseWeight: number;
  private readonly legacy?: VectorStore;
  /** Per tenant: whether `legacy` still holds its messages (asked once per process; nothing new is written there). */
  private readonly legacyHolds = new Map<string, Promise<boolean>>();

  constructor(
    private readonly vectors: VectorStore,
    private readonly embedder: Embedder,
    opts: SessionRecallIndexOptions = {},
  ) {
    this.embedBatchSize = opts.embedBatchSize ?? DEFAULT_RECALL_EMBED_BATCH;
    this.denseWeight = opts.denseWeight ?? (embedder.lexical ? LEXICAL_EMBEDDER_DENSE_WEIGHT : 1);
    this.legacy = opts.legacy;
    if (!Number.isFinite(this.denseWeight) || this.denseWeight < 0)
      throw new Error(`SessionRecallIndex: denseWeight must be >= 0, got ${this.denseWeight}`);
    if (!Number.isInteger(this.embedBatchSize) || this.embedBatchSize < 1) {
      throw new Error(`SessionRecallIndex: embedBatchSize must be a positive integer, got ${this.embedBatchSize}`);
    }
  }

  /** Embeds and upserts the messages (idempotent: the same message always gets the same id). */
  async indexMessages(tenant: string, session: SessionRecord, messages: StoredMessage[], signal?: AbortSignal): Promise<void> {
    const documentId = sessionDocumentId(session.id, session.generation);
    for (let i = 0; i < messages.length; i += this.embedBatchSize) {
      signal?.throwIfAborted();
      const batch = messages.slice(i, i + this.embedBatchSize);
      const vectors = await this.embedder.embed(
        batch.map((m) => m.content),
        { tenant, signal, tokenCounts: batch.map((m) => m.tokenCount) },
      );
      const chunks: ChunkRecord[] = batch.map((m, j) => ({
        id: chunkId(documentId, MESSAGE_VERSION, m.seq),
        tenant,
        collection: SESSION_COLLECTION,
        documentId,
        documentVersion: MESSAGE_VERSION,
        chunkIndex: m.seq,
        title: m.role,
        text: m.content,
        tokenCount: m.tokenCount,
        pages: [],
        headingPath: [],
        metadata: { role: m.role, createdAt: m.createdAt, seq: m.seq },
        vector: vectors[j],
      }));
      await this.vectors.upsert(chunks);
    }
  }

  /** The session's messages closest to `query`, best first, as seqs (read them back from the session store). */
  /** Whether hybrid search uses the dense side at all (callers then embed the query once and pass it in). */
  get usesDense(): boolean {
    return this.denseWeight > 0;
  }

  /** `opts.vector`: the query's embedding, shared with the caller's other search (it is computed here otherwise). */
  async search(
    tenant: string,
    session: SessionRecord,
    query: string,
    k: number,
    opts: { mode?: SearchMode; signal?: AbortSignal; vector?: () => Promise<Float32Array> } = {},
  ): Promise<RecallHit[]> {
    const mode = opts.mode ?? 'hybrid';
    if (k <= 0 || query.trim() === '') return [];
    const one = (side: 'dense' | 'keyword') => this.searchOne(tenant, session, query, k, side, opts);
    if (mode !== 'hybrid') return one(mode);
    // Hybrid fused here rather than in the store, so the two sides can be weighted (see denseWeight).
    const [keyword, dense] = await Promise.all([one('keyword'), this.usesDense ? one('dense') : Promise.resolve([])]);
    const fused = reciprocalRankFusion(
      [keyword, dense].map((list) => list.map((h) => ({ id: String(h.seq), seq: h.seq }))),
      DEFAULT_RRF_K,
      [1, this.denseWeight],
    );
    return fused.slice(0, k).map((f) => ({ seq: f.item.seq, score: f.score }));
  }

  private async searchOne(
    tenant: string,
    session: SessionRecord,
    query: string,
    k: number,
    mode: 'dense' | 'keyword',
    opts: { signal?: AbortSignal; vector?: () => Promise<Float32Array> },
  ): Promise<RecallHit[]> {
    const vector =
      mode === 'keyword'
        ? undefined
        : opts.vector
          ? await opts.vector()
          : (await this.embedder.embed([query], { tenant, signal: opts.signal }))[0];
    const req = {
      tenant,
      collection: SESSION_COLLECTION,
      text: query,
      vector,
      mode,
      // More than k, so the tie-break below, not the store, decides which of equally scored messages make the cut.
      k: Math.ceil(k * (1 + TIE_MARGIN)),
      filter: { documentIds: [sessionDocumentId(session.id, session.generation)] },
    };
    // Positions only: the messages' text is read from the session store, which holds it anyway.
    const [hits, older] = await Promise.all([
      this.vectors.searchPositions(req),
      this.legacyHas(tenant).then((has) => (has ? this.legacy!.searchPositions(req) : [])),
    ]);
    // A message is in one place or the other (re-indexing writes the same id to the new place): best score wins.
    const bySeq = new Map<number, number>();
    for (const hit of [...hits, ...older]) bySeq.set(hit.chunkIndex, Math.max(hit.score, bySeq.get(hit.chunkIndex) ?? -Infinity));
    return [...bySeq]
      .map(([seq, score]) => ({ seq, score }))
      .sort((a, b) => b.score - a.score || TIE_ORDER * (a.seq - b.seq))
      .slice(0, k);
  }

  private legacyHas(tenant: string): Promise<boolean> {
    if (!this.legacy) return Promise.resolve(false);
    let known = this.legacyHolds.get(tenant);
    if (!known) {
      known = this.legacy.count(tenant, { collection: SESSION_COLLECTION }).then((n) => n > 0);
      this.legacyHolds.set(tenant, known);
      known.catch(() => this.legacyHolds.delete(tenant));
    }
    return known;
  }

  /** Forgets every message vector of one session generation. */
  async deleteSession(tenant: string, sessionId: string, generation: string): Promise<void> {
    const id = sessionDocumentId(sessionId, generation);
    await this.vectors.deleteDocument(tenant, id);
    if (await this.legacyHas(tenant)) await this.legacy!.deleteDocument(tenant, id);
  }
}
