/** What the ingestion pipeline and search need from an embedding model. Implementations live in src/gateway. */
export interface Embedder {
  /** Model name as recorded with the index (a mismatch must never mix vectors). */
  readonly model: string;
  readonly dimensions: number;
  /**
   * True when the vectors encode word overlap rather than meaning (the offline hashing embedder): searches that also
   * have a keyword side gain nothing from them (see SessionRecallIndex).
   */
  readonly lexical?: boolean;
  /** One L2-normalised vector per input, in input order. */
  embed(texts: string[], opts?: EmbedOptions): Promise<Float32Array[]>;
}

export interface EmbedOptions {
  signal?: AbortSignal;
  tenant?: string;
  /**
   * The texts' tekken token counts, when the caller has them (chunks and stored messages carry theirs): the gateway
   * then need not tokenise the texts again for its rate-limit estimate.
   */
  tokenCounts?: readonly number[];
}
