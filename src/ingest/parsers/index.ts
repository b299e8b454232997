import type { ParsedDocument, SourceFormat } from '../types';
import { parseHtml } from './html';
import { parseMarkdown } from './markdown';
import { parsePdf } from './pdf';
import { parseText } from './text';

/** Source bytes to the text we store and chunk, by format (see detectFormat). */
export async function parseSource(bytes: Buffer, format: SourceFormat): Promise<ParsedDocument> {
  switch (format) {
    case 'pdf':
      return parsePdf(bytes);
    case 'markdown':
      return parseMarkdown(bytes);
    case 'html':
      return parseHtml(bytes);
    case 'text':
      return parseText(bytes);
  }
}
