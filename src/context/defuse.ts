/**
 * The one rule that keeps data inside its block. Everything the context builder puts inside the system message that
 * did not come from the builder itself (passage text and titles, recalled turns and their role and date, the summary,
 * the system prompt) goes through `defuse` before it is formatted, so no data can close a block, open another one, or
 * forge a line in a block's own format (`[3] Title`, `[#12 · 2024-05-01 10:00] assistant: ...`).
 *
 * What it changes (everything else is kept as is, so the model reads the text as written):
 * - Line breaks: every kind (`\r\n`, `\r`, U+2028, U+2029, NEL, VT, FF) becomes `\n`, so "start of a line" means the
 *   same to the builder, the offline parser and a model.
 * - Tag-like sequences: a `<` that starts a tag (`<x`, `</x`, `< / x`, `<!`, `<?`, or a `<` or `</` ending the text)
 *   becomes `&lt;`, so `</context>` reads `&lt;/context>`. Which tag does not matter: a model may take any tag for a delimiter.
 * - Line starts that imitate a block line: a bracketed label at the start of a line (`[12] ...`, `[#12 · ...] user:`)
 *   becomes parenthesised (`(12) ...`), whatever whitespace or invisible characters precede it.
 * Look-alikes that Unicode compatibility normalisation (NFKC) folds onto `<`, `/`, `[` or `]` (fullwidth `＜／［］`,
 * small `﹤`, vertical `﹇﹈`) are treated as those characters, so a normalising reader cannot rebuild a tag or a marker either.
 *
 * `inline` (titles, roles, dates: text that sits on a block line) also folds all whitespace to single spaces and turns
 * every square bracket into a parenthesis, so the field cannot end its line or its `[...]` label.
 */

/** `\r\n` first so a Windows line break counts once. */
const LINE_BREAKS = /\r\n|[\r\u2028\u2029\u0085\u000b\u000c]/g;
/** Spaces and invisible format characters (zero-width space, BOM, bidi controls) that a reader skips. */
const SKIPPED = '[\\p{White_Space}\\p{Cf}]';
const LT = '[<\\uFF1C\\uFE64]';
const SLASH = '[/\\uFF0F]';
const OPEN_BRACKET = '[\\[\\uFF3B\\uFE47]';
const CLOSE_BRACKET = '[\\]\\uFF3D\\uFE48]';
/**
 * What may follow `<` in a tag: an ASCII letter, `!`, `?`, or any non-ASCII character (NFKC folds some of those, e.g.
 * `㎏`, `ⓐ`, `！`, into letters or `!`). Other ASCII is left alone so `a <= b`, `x<5` and `< 3` read as written.
 */
const TAG_NAME_START = '[A-Za-z!?\\u0080-\\u{10FFFF}]';
/**
 * `<` (or a look-alike) followed, after optional skipped characters and a slash, by a tag name's first character, or
 * by the end of the text: a field ending in `<` would otherwise open a tag with the builder's next line.
 */
const TAG_START = new RegExp(`${LT}(?=${SKIPPED}*(?:${SLASH}${SKIPPED}*)?(?:${TAG_NAME_START}|$))`, 'gu');
/** A bracketed label at the start of a line (after skipped characters other than the line break). */
const LINE_LABEL = new RegExp(`^((?:(?!\\n)${SKIPPED})*)${OPEN_BRACKET}([^\\n\\]\\uFF3D\\uFE48]*)${CLOSE_BRACKET}`, 'gmu');
const ANY_BRACKET_OPEN = /[[\uFF3B\uFE47]/g;
const ANY_BRACKET_CLOSE = /[\]\uFF3D\uFE48]/g;
const WHITESPACE_RUN = /[\s\u0085]+/g;

export interface DefuseOptions {
  /** The text sits on a block line (a title, a role, a date): one line, no square brackets. */
  inline?: boolean;
}

/** `text` made safe to place inside a context block (see the module comment); trimmed. */
export function defuse(text: string, opts: DefuseOptions = {}): string {
  const tagsDefused = text.replace(LINE_BREAKS, '\n').replace(TAG_START, '&lt;');
  if (opts.inline === true) {
    return tagsDefused.replace(WHITESPACE_RUN, ' ').replace(ANY_BRACKET_OPEN, '(').replace(ANY_BRACKET_CLOSE, ')').trim();
  }
  return tagsDefused.replace(LINE_LABEL, '$1($2)').trim();
}
