import type { ParsedDocument } from '../../core/parsed-document';
import { decodeUtf8Strict } from './decode-text';
import { normalizeNewlines } from './text';

/** Markdown is kept as markdown: the chunker splits on its structure and reads its headings. */
export function parseMarkdown(bytes: Buffer): ParsedDocument {
  return { format: 'markdown', text: normalizeNewlines(decodeUtf8Strict(bytes)) };
}
