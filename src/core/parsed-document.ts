export type SourceFormat = 'pdf' | 'markdown' | 'text' | 'html' | 'docx' | 'image';

/** Formats whose bytes are not UTF-8 text (the API does not decode them on upload). */
export const BINARY_FORMATS: ReadonlySet<SourceFormat> = new Set(['pdf', 'docx', 'image']);
/** Formats whose parsers write Markdown headings (`#` lines), which the chunker turns into heading paths. */
export const HEADED_FORMATS: ReadonlySet<SourceFormat> = new Set(['markdown', 'html', 'docx']);

/** A page's character range in ParsedDocument.text (end exclusive). */
export interface PageSpan {
  num: number;
  start: number;
  end: number;
}

/** What a parser extracts from a source: the text stored for reindexing, and where its pages lie. */
export interface ParsedDocument {
  format: SourceFormat;
  text: string;
  /** Present for paged sources (PDF). */
  pages?: PageSpan[];
  /** Pages read by OCR (image-only PDF pages, or the image itself as page 1) and tesseract's mean word confidence. */
  ocr?: { pages: number[]; meanConfidence: number };
}

export interface TextChunk {
  index: number;
  text: string;
  tokenCount: number;
  /** Character range of the chunk in ParsedDocument.text. */
  start: number;
  end: number;
  pages: number[];
  headingPath: string[];
}
