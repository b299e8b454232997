import { PDFParse } from 'pdf-parse';
import { AppError } from '../../errors';
import type { PageSpan, ParsedDocument } from '../../core/parsed-document';
import { ocrAvailable, ocrPdfPages, ocrUnavailable } from './ocr';

/** Between pages in ParsedDocument.text: a paragraph break, so the chunker prefers to cut there. */
const PAGE_SEPARATOR = '\n\n';
/** pdf.js verbosity: errors only (its warnings about fonts and the like would go to stdout, outside our logger). */
const PDFJS_ERRORS_ONLY = 0;

export interface PdfOptions {
  /** Refuse (pdf_too_large) a PDF with more pages, before reading any page: a page costs time and memory. */
  maxPages?: number;
  /** Read pages without a text layer (scans) by OCR, when it is installed (ocr.ts). */
  ocr?: boolean;
}

/**
 * The text layer of a PDF, page by page. CPU-bound and blocking: the service calls it in the parse sandbox
 * (src/ingest/parse-sandbox), which bounds its time and memory. Failures that retrying cannot fix are AppErrors with
 * retryable: false (422), so the job fails at once.
 */
export async function parsePdf(bytes: Buffer, options: PdfOptions = {}): Promise<ParsedDocument> {
  // A Buffer is copied by PDFParse; a plain Uint8Array would be handed to pdf.js and detached, so make sure of it.
  const parser = new PDFParse({ data: Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes), verbosity: PDFJS_ERRORS_ONLY });
  let pageTexts: { num: number; text: string }[];
  try {
    const numPages = await pageCount(parser);
    if (options.maxPages !== undefined && numPages > options.maxPages) {
      throw new AppError(
        'pdf_too_large',
        `The PDF has ${numPages} pages; at most ${options.maxPages} are accepted`,
        { max: options.maxPages, got: numPages },
        { retryable: false },
      );
    }
    pageTexts = (await parser.getText()).pages;
  } catch (err) {
    throw pdfError(err);
  } finally {
    await parser.destroy();
  }

  const scanned = options.ocr ? await readScannedPages(bytes, pageTexts) : undefined;
  const parts: string[] = [];
  const pages: PageSpan[] = [];
  let offset = 0;
  for (const page of pageTexts) {
    const text = normalizePdfText(scanned?.texts.get(page.num) ?? page.text);
    if (text !== '') {
      if (parts.length > 0) offset += PAGE_SEPARATOR.length;
      parts.push(text);
    }
    // A page without text still gets its (empty) span, so page numbers stay those of the file.
    pages.push({ num: page.num, start: offset, end: offset + text.length });
    offset += text.length;
  }
  if (parts.length === 0) {
    if (!options.ocr || scanned?.unavailable) throw ocrUnavailable('The PDF has no text layer (a scan): it');
    throw new AppError(
      'pdf_no_text',
      'The PDF has no text, neither in a text layer nor read by OCR from its pages',
      { pages: pageTexts.length },
      { retryable: false },
    );
  }
  const ocr = scanned && scanned.texts.size > 0 ? { pages: [...scanned.texts.keys()], meanConfidence: scanned.meanConfidence } : undefined;
  return { format: 'pdf', text: parts.join(PAGE_SEPARATOR), pages, ...(ocr ? { ocr } : {}) };
}

/**
 * OCR of the pages without a text layer (a scan, or scanned pages inside a textual PDF); the others keep their text.
 * `unavailable` when tesseract is not installed: the textual pages still count, and a PDF with none fails clearly.
 */
async function readScannedPages(
  bytes: Buffer,
  pageTexts: { num: number; text: string }[],
): Promise<{ texts: Map<number, string>; meanConfidence: number; unavailable?: boolean }> {
  const blank = pageTexts.filter((p) => p.text.trim() === '').map((p) => p.num);
  if (blank.length === 0) return { texts: new Map(), meanConfidence: 0 };
  if (!(await ocrAvailable())) return { texts: new Map(), meanConfidence: 0, unavailable: true };
  const read = await ocrPdfPages(bytes, blank);
  const texts = new Map([...read].map(([num, page]) => [num, page.text]));
  const confidences = [...read.values()].filter((p) => p.text.trim() !== '').map((p) => p.confidence);
  const meanConfidence = confidences.length ? confidences.reduce((a, b) => a + b, 0) / confidences.length : 0;
  return { texts, meanConfidence: Math.round(meanConfidence * 10) / 10 };
}

/**
 * The page count from the page tree, without reading any page. PDFParse keeps its `load` (the pdf.js document, which
 * getText loads anyway) private; its public getInfo would also parse the outline and XMP metadata, more hostile input
 * to read before the check. pdf-parse is pinned, and the page-bomb test fails if `load` changes.
 */
async function pageCount(parser: PDFParse): Promise<number> {
  const { numPages } = await (parser as unknown as { load(): Promise<{ numPages: number }> }).load();
  return numPages;
}

/**
 * pdf.js gives one line per text line and spaces as laid out. Collapse runs of spaces (keeping a tab, which marks a
 * table cell), drop control characters, rejoin words hyphenated across a line break, keep paragraph breaks.
 */
export function normalizePdfText(raw: string): string {
  return raw
    .replace(/\r\n?|[\u2028\u2029\f\v]/g, '\n')
    .replace(/[\u0000-\u0008\u000e-\u001f\u007f\u00ad]/g, '') // controls and soft hyphens
    .replace(/[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+/g, (ws) => (ws.includes('\t') ? '\t' : ' '))
    .replace(/[ \t]*\n[ \t]*/g, '\n')
    .replace(/(\p{Ll})-\n(\p{Ll})/gu, '$1$2') // "pro-\ngram": a lower-case word broken at the margin
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

function pdfError(err: unknown): unknown {
  if (err instanceof AppError) return err;
  if (isNamed(err, 'PasswordException')) {
    return new AppError('pdf_encrypted', 'The PDF is password-protected: upload a decrypted copy', undefined, {
      cause: err,
      retryable: false,
    });
  }
  if (isNamed(err, 'InvalidPDFException', 'FormatError', 'UnknownErrorException')) {
    return new AppError(
      'pdf_invalid',
      'The file is not a readable PDF (it may be truncated or corrupt)',
      { reason: err.message },
      { cause: err, retryable: false },
    );
  }
  return err; // not about the file (e.g. out of memory): let the job retry
}

/**
 * By name, not instanceof: pdf-parse maps pdf.js's exceptions to its exported classes only while loading; one raised
 * while reading a page (e.g. objects nested deeper than the stack allows) is pdf.js's own class of the same name.
 */
function isNamed(err: unknown, ...names: string[]): err is Error {
  return err instanceof Error && names.includes(err.name);
}
