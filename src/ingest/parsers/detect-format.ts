import path from 'node:path';
import type { SourceFormat } from '../../core/parsed-document';

const BY_EXTENSION: Record<string, SourceFormat> = {
  '.pdf': 'pdf',
  '.md': 'markdown',
  '.markdown': 'markdown',
  '.txt': 'text',
  '.html': 'html',
  '.htm': 'html',
  '.docx': 'docx',
};

const BY_MIME_TYPE: Record<string, SourceFormat> = {
  'application/pdf': 'pdf',
  'text/markdown': 'markdown',
  'text/x-markdown': 'markdown',
  'text/plain': 'text',
  'text/html': 'html',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
};

const PDF_MAGIC = Buffer.from('%PDF-', 'latin1');
/** PNG, JPEG, and TIFF in both byte orders. */
const IMAGE_MAGIC = [
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.from([0xff, 0xd8, 0xff]),
  Buffer.from('II*\x00', 'latin1'),
  Buffer.from('MM\x00*', 'latin1'),
];
/** A ZIP archive's first local file header. */
const ZIP_MAGIC = Buffer.from('PK\x03\x04', 'latin1');
/** Entry names only a Word document's archive has near its start ([Content_Types].xml names the main part). */
const WORD_ENTRY = /word\/|wordprocessingml/;

/**
 * Which parser a source needs, from its first bytes, file name and declared type; undefined for anything we cannot
 * parse (the API answers 415). The extension wins over the declared type because clients often send .md files as
 * text/plain or application/octet-stream; the bytes win over both for PDF, the one format with a reliable signature.
 * `head` is the start of the file (it may end inside a UTF-8 sequence).
 */
export function detectFormat(filename: string | undefined, mimeType: string | undefined, head: Buffer): SourceFormat | undefined {
  if (head.subarray(0, PDF_MAGIC.length).equals(PDF_MAGIC)) return 'pdf';
  // Photos and scans of pages, read by OCR: known by their signatures only.
  if (IMAGE_MAGIC.some((magic) => head.subarray(0, magic.length).equals(magic))) return 'image';
  // A ZIP archive is a Word document when it says so in its first entries, or is named or typed as one (the parser
  // then tells a corrupt file apart); any other archive (.xlsx, .zip, .odt) is not something we read.
  if (head.subarray(0, ZIP_MAGIC.length).equals(ZIP_MAGIC)) {
    const named =
      BY_EXTENSION[filename ? path.extname(filename).toLowerCase() : ''] ??
      BY_MIME_TYPE[mimeType?.split(';')[0].trim().toLowerCase() ?? ''];
    return WORD_ENTRY.test(head.toString('latin1')) || named === 'docx' ? 'docx' : undefined;
  }

  const ext = filename ? path.extname(filename).toLowerCase() : '';
  const mime = mimeType?.split(';')[0].trim().toLowerCase() ?? '';
  const claimed = BY_EXTENSION[ext] ?? BY_MIME_TYPE[mime];
  // A file that says it is a PDF or a Word document but lacks the signature still goes to its parser, which reports
  // it as invalid.
  if (claimed === 'pdf' || claimed === 'docx') return claimed;
  // NULs mean binary under a text name; other invalid UTF-8 is left to decodeUtf8Strict, which says where it is.
  if (claimed) return head.includes(0) ? undefined : claimed;

  // No extension and no useful type (curl sends application/octet-stream): accept what reads as UTF-8 text.
  if (ext === '' && (mime === '' || mime === 'application/octet-stream') && head.length > 0 && looksLikeText(head)) {
    return /^\s*<(?:!doctype\s+html|html)[\s>]/i.test(head.toString('utf8', 0, 256)) ? 'html' : 'text';
  }
  return undefined;
}

/** Valid UTF-8 (a sequence cut by the end of `head` allowed) without NUL bytes, which text never has and binaries do. */
function looksLikeText(head: Buffer): boolean {
  if (head.includes(0)) return false;
  try {
    // stream: true leaves an incomplete trailing sequence pending instead of failing on it.
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
    return true;
  } catch {
    return false;
  }
}
