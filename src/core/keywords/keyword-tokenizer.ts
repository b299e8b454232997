/**
 * The one tokenizer behind keyword search. LanceDB's FTS index is built over `keywordString(chunkKeywordText(chunk))`
 * with a plain whitespace tokenizer, and the Qdrant store builds sparse vectors from `keywordTokens` of the same
 * `chunkKeywordText`, so both backends (and both the indexed side and the query side) see exactly the same terms.
 *
 * Pipeline: NFKC (compatibility forms: fullwidth letters, ligatures) -> full case folding -> accents removed from
 * Latin and Greek letters ("café" matches "cafe", as Lucene's ASCII folding does) -> split on anything that is not a
 * letter, mark or digit (Han and kana characters become one token each because those scripts have no spaces) ->
 * English stop words dropped -> Porter2 stem for plain ASCII words.
 */

// wink-porter2-stemmer is CommonJS without type declarations; require keeps it out of the type system in one place.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const porter2: (word: string) => string = require('wink-porter2-stemmer');

/**
 * Tokens longer than this are dropped (base64 blobs, hashes, unsegmented Thai sentences): they never match a query
 * and would bloat the index. LanceDB's index is configured with a byte limit of 4x this, so it never drops a token
 * that we keep (a character is at most 4 UTF-8 bytes).
 */
export const MAX_KEYWORD_TOKEN_LENGTH = 64;

/** Bound on memoised stems: English vocabularies of real corpora stay well below it, so hits dominate. */
const MAX_CACHED_STEMS = 50_000;

/**
 * NLTK's English list. We split on apostrophes, so contraction fragments ("don", "t", "ll", "s") are on it too.
 */
const STOP_WORDS: ReadonlySet<string> = new Set(
  (
    'i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers herself ' +
    'it its itself they them their theirs themselves what which who whom this that these those am is are was were be ' +
    'been being have has had having do does did doing a an the and but if or because as until while of at by for with ' +
    'about against between into through during before after above below to from up down in out on off over under ' +
    'again further then once here there when where why how all any both each few more most other some such no nor not ' +
    'only own same so than too very s t can will just don should now d ll m o re ve y ain aren couldn didn doesn hadn ' +
    'hasn haven isn ma mightn mustn needn shan shouldn wasn weren won wouldn'
  ).split(' '),
);

const NON_ASCII = /[^\x00-\x7f]/;
const ASCII_WORD = /^[a-z]+$/;
/** Combining marks on a Latin or Greek base letter (after NFKD): the accents we fold away. */
const LATIN_GREEK_ACCENTS = /([\p{Script=Latin}\p{Script=Greek}])\p{Mn}+/gu;
/**
 * A Han/kana character alone, or a run of letters, marks and digits from any other script. Built with the `v` flag
 * (set subtraction, Node >= 20) through the constructor because TypeScript rejects a `v` literal below ES2024.
 */
const TOKEN = new RegExp(
  '[\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}]' +
    '|[[\\p{L}\\p{M}\\p{N}]--[\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}]]+',
  'gv',
);

/**
 * Memoised Porter2 stems. Module-level on purpose: the memo is invisible (stemming is a pure function), and sharing it
 * is what makes ingestion fast; it holds no configuration or connection.
 */
const stemCache = new Map<string, string>();

function stem(word: string): string {
  const cached = stemCache.get(word);
  if (cached !== undefined) return cached;
  const stemmed = porter2(word);
  if (stemCache.size >= MAX_CACHED_STEMS) {
    // Evict the oldest entry (Map iterates in insertion order) rather than clearing: the common words stay warm.
    stemCache.delete(stemCache.keys().next().value as string);
  }
  stemCache.set(word, stemmed);
  return stemmed;
}

/** Unicode-normalised, case-folded, accent-folded text. ASCII text (the common case) skips the Unicode work. */
function fold(text: string): string {
  if (!NON_ASCII.test(text)) return text.toLowerCase();
  // Upper then lower approximates full case folding (ß -> ss, ŉ -> ʼn); NFKD first so accents are separate marks.
  const folded = text.normalize('NFKD').toUpperCase().toLowerCase().replace(LATIN_GREEK_ACCENTS, '$1');
  // Final sigma is a positional form of σ: fold it so "λόγος" and "ΛΟΓΟΣ" agree wherever the word ends.
  return folded.normalize('NFC').replace(/ς/g, 'σ');
}

/** Keyword terms of `text`, in order, duplicates kept (term frequency matters to BM25). */
export function keywordTokens(text: string): string[] {
  const words = fold(text).match(TOKEN);
  if (words === null) return [];
  const tokens: string[] = [];
  for (const word of words) {
    if (word.length > MAX_KEYWORD_TOKEN_LENGTH || STOP_WORDS.has(word)) continue;
    // Porter2 is an English stemmer: numbers, mixed tokens ("covid19") and other scripts pass through unchanged.
    tokens.push(ASCII_WORD.test(word) ? stem(word) : word);
  }
  return tokens;
}

/** The tokens joined by single spaces: the form stored in LanceDB's `keywords` column and sent as the FTS query. */
export function keywordString(text: string): string {
  return keywordTokens(text).join(' ');
}

/** The text a chunk is keyword-indexed by, in both vector stores: its title, then its text. */
export function chunkKeywordText(chunk: { title: string; text: string }): string {
  return `${chunk.title}\n${chunk.text}`;
}
