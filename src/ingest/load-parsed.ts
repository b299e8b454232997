import { AppError } from '../errors';
import type { DocumentRecord } from '../stores/document/document-types';
import type { IngestDeps } from './ingest-document';
import type { ParsedDocument } from '../core/parsed-document';

/**
 * The extracted text of a document version: the stored parsed copy when the format keeps one (PDF, HTML, Word: parsing
 * them again would cost seconds), else the original parsed now. Text and Markdown are their own extracted text.
 */
export async function loadParsed(
  deps: Pick<IngestDeps, 'sources' | 'parse'>,
  doc: Pick<DocumentRecord, 'tenant' | 'id' | 'format'>,
  version: number,
): Promise<ParsedDocument> {
  const keepsParsed = doc.format !== 'text' && doc.format !== 'markdown';
  const stored = keepsParsed ? await deps.sources.getParsed(doc.tenant, doc.id, version) : undefined;
  if (stored) return stored;
  const original = await deps.sources.getOriginal(doc.tenant, doc.id, version);
  if (!original)
    throw new AppError(
      'source_missing',
      'The stored source of this document is missing',
      { documentId: doc.id, version },
      { retryable: false },
    );
  const parsed = await deps.parse(original, doc.format);
  if (keepsParsed) await deps.sources.putParsed(doc.tenant, doc.id, version, parsed);
  return parsed;
}
