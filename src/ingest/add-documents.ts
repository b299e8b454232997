import { forEachConcurrently } from '../infra/pool';
import { timed, type StageTimings } from '../infra/stage-timings';
import type { DocumentRecord } from '../stores/document/document-types';
import { contentHash, newDocumentRecord, type AddDocumentDeps, type AddDocumentResult, type NewDocument } from './add-document';
import { newDocumentIds } from './ids';

/** Source files written at once for one request (large ones; small ones go to the inbox with their records). */
const SOURCE_WRITE_PARALLELISM = 64;

export interface AddDocumentsOutcome {
  /** One per input, in order; undefined for those a quota refusal left unrecorded. */
  results: Array<AddDocumentResult | undefined>;
  /** The 403 to answer when a quota stopped the batch (the results before it stand and must be queued). */
  refused?: Error;
}

/**
 * Records many new documents of one tenant and collection, without externalIds, as one batch: the contents are hashed
 * together, existing holders looked up in one round trip, and every record created with its content claim, its quota
 * count and its source (when small: SourceInbox; workers write the files) in one script. Large sources are files
 * written first. addDocument does the same per document in five round trips and a file write each: a 500-document bulk
 * request took 300-400 ms that way.
 *
 * Inputs are distinct contents (the caller answers repeats within a request). Same guarantees as addDocument: content
 * already held answers `duplicate` before anything is written, so it never meets a quota; a source whose record is
 * not created (another upload claimed the content first, or a quota) is not left behind.
 */
export async function addDocuments(deps: AddDocumentDeps, inputs: NewDocument[], timings?: StageTimings): Promise<AddDocumentsOutcome> {
  if (inputs.length === 0) return { results: [] };
  const { tenant, collection } = inputs[0];
  const hashes = inputs.map((input) => contentHash(input.bytes));
  const held = await timed(timings, 'lookup', () => deps.documents.holdersOfHashes(tenant, collection, hashes));
  const results: Array<AddDocumentResult | undefined> = inputs.map((_, i) => {
    const holder = held.get(hashes[i]);
    return holder ? { kind: 'duplicate', doc: holder } : undefined;
  });

  const unheld = inputs.flatMap((input, i) => (results[i] ? [] : [i]));
  const ids = newDocumentIds(unheld.length);
  const fresh = unheld.map((i, j) => {
    const doc = newDocumentRecord(inputs[i], ids[j], hashes[i]);
    const inboxKey = deps.sources.inboxKeyOfNew(tenant, doc.id, inputs[i].bytes.length);
    return { i, doc, source: inboxKey ? { key: inboxKey, bytes: inputs[i].bytes } : undefined };
  });
  const files = fresh.filter((f) => !f.source);
  const undo = (docs: DocumentRecord[]) =>
    forEachConcurrently(docs, SOURCE_WRITE_PARALLELISM, (doc) => deps.sources.removeVersion(doc.tenant, doc.id, 1).catch(() => undefined));
  // Files first, records second: a record never points at a source that is not there yet.
  let created: Awaited<ReturnType<AddDocumentDeps['documents']['createMany']>>;
  try {
    await timed(timings, 'sources', () =>
      forEachConcurrently(files, SOURCE_WRITE_PARALLELISM, ({ i, doc }) => deps.sources.putOriginal(tenant, doc.id, 1, inputs[i].bytes)),
    );
    created = await timed(timings, 'records', () => deps.documents.createMany(fresh));
  } catch (err) {
    await undo(files.map((f) => f.doc));
    throw err;
  }

  const orphans: DocumentRecord[] = [];
  fresh.forEach(({ i, doc, source }, j) => {
    const outcome = created.outcomes[j];
    if (outcome?.kind === 'created')
      results[i] = { kind: 'created', doc, job: { tenant, documentId: doc.id, version: 1, reason: 'upload' } };
    // Another upload recorded the same content between our lookup and our script: its document is the answer.
    else if (outcome?.kind === 'duplicate') results[i] = { kind: 'duplicate', doc: outcome.holder };
    // The script wrote nothing for records it did not create; only our own files need removing.
    if (outcome?.kind !== 'created' && !source) orphans.push(doc);
  });
  await undo(orphans);
  return { results, refused: created.refused };
}
