import { parseSource } from '../parsers';
import type { ParsedDocument, SourceFormat } from '../../core/parsed-document';
import type { ParsePool } from './parse-pool';

/** Formats whose parsing can be slow or memory-hungry on hostile input: pdf.js, a DOM of an HTML page, a ZIP archive. */
const SANDBOXED: ReadonlySet<SourceFormat> = new Set(['pdf', 'html', 'docx', 'image']);

/**
 * The `parse` the ingest steps get: PDF, HTML and Word in the pool's bounded processes; text and Markdown here, since
 * decoding UTF-8 and normalising line ends is linear in the (already size-limited) upload and not worth a copy across
 * processes.
 */
export function sandboxedParse(pool: ParsePool): (bytes: Buffer, format: SourceFormat) => Promise<ParsedDocument> {
  return (bytes, format) => (SANDBOXED.has(format) ? pool.parse(bytes, format) : parseSource(bytes, format));
}
