import type { ParsedDocument, SourceFormat } from '../../core/parsed-document';
import { parseDocx } from './docx';
import { parseHtml } from './html';
import { parseImage } from './image';
import { parseMarkdown } from './markdown';
import { parsePdf, type PdfOptions } from './pdf';
import { parseText } from './text';

export type ParseOptions = PdfOptions;

/**
 * Source bytes to the text we store and chunk, by format (see detectFormat), in this process. The service runs PDF
 * and HTML through the parse sandbox (src/ingest/parse-sandbox), which calls this in a child process it can kill.
 */
export async function parseSource(bytes: Buffer, format: SourceFormat, options: ParseOptions = {}): Promise<ParsedDocument> {
  switch (format) {
    case 'pdf':
      return parsePdf(bytes, options);
    case 'markdown':
      return parseMarkdown(bytes);
    case 'html':
      return parseHtml(bytes);
    case 'text':
      return parseText(bytes);
    case 'docx':
      return parseDocx(bytes);
    case 'image':
      return parseImage(bytes, options);
  }
}
