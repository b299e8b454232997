import mammoth from 'mammoth';
import { AppError } from '../../errors';
import type { ParsedDocument } from '../../core/parsed-document';
import { htmlToMarkdown } from './html';

/**
 * A Word document (.docx) as Markdown: mammoth maps its styles to HTML (Heading 1-6 to <h1>-<h6>, lists, tables) and
 * the HTML converter writes Markdown, so the document's headings become the heading paths of its chunks and tables
 * keep a row per line. Images and comments are left out. CPU- and memory-bound on large or hostile files (a ZIP
 * archive): the service runs it in the parse sandbox.
 */
export async function parseDocx(bytes: Buffer): Promise<ParsedDocument> {
  let html: string;
  try {
    ({ value: html } = await mammoth.convertToHtml({ buffer: bytes }, { ignoreEmptyParagraphs: true, convertImage: noImages }));
  } catch (err) {
    throw new AppError(
      'docx_invalid',
      'The file is not a readable Word document (.docx): it may be corrupt, or an older .doc',
      { reason: err instanceof Error ? err.message : String(err) },
      { cause: err, retryable: false },
    );
  }
  const text = await htmlToMarkdown(html, { mainContent: false });
  if (text === '') {
    throw new AppError('docx_no_text', 'The Word document has no text', undefined, { retryable: false });
  }
  return { format: 'docx', text };
}

const noImages = mammoth.images.imgElement(() => Promise.resolve({ src: '' }));
