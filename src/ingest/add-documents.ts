import { forEachConcurrently } from '../infra/pool';
import { timed, type StageTimings } from '../infra/stage-timings';
import type { DocumentRecord } from '../stores/document/document-types';
import { addDocument, contentHash, newDocumentRecord, type AddDocumentDeps, type AddDocumentResult, type NewDocument } from './add-document';
import { newDocumentId } from './ids';

/** Source files written at once for one request (large ones; small ones go to the inbox in one round trip). */
const SOURCE_WRITE_PARALLELISM = 64;

export interface AddDocumentsOutcome {
  /** One per input, in order; undefined for those a quota refusal left unrecorded. */
  results: Array<AddDocumentResult | undefined>;
  /** The 403 to answer when a quota stopped the batch (the results before it stand and must be queued). */
  refused?: Error;
}

/**
 * Records many new documents of one tenant and collection, without externalIds, as one batch: the contents are hashed
 * together, existing holders looked up in one round trip, the sources stored in one pipeline (SourceInbox; workers
 * write the files), and every record created with its content claim and quota count in one script. addDocument does
 * the same per document in five round trips and a file write each: a 500-document bulk request took 300-400 ms that
 * way.
 *
 * Inputs are distinct contents (the caller answers repeats within a request). Same guarantees as addDocument: content
 * already held answers `duplicate` before anything is written, so it never meets a quota; a source whose record is
 * not created (another upload claimed the content first, or a quota) is removed again.
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

  const fresh = inputs.flatMap((input, i) => (results[i] ? [] : [{ i, doc: newDocumentRecord(input, newDocumentId(), hashes[i]) }]));
  const undo = (docs: DocumentRecord[]) => forEachConcurrently(docs, SOURCE_WRITE_PARALLELISM, (doc) => deps.sources.removeVersion(doc.tenant, doc.id, 1).catch(() => undefined));
  // Sources first, records second: a record never points at a source that is not there yet.
  try {
    await timed(timings, 'sources', () => deps.sources.putNewOriginals(tenant, fresh.map(({ i, doc }) => ({ documentId: doc.id, bytes: inputs[i].bytes })), SOURCE_WRITE_PARALLELISM));
  } catch (err) {
    await undo(fresh.map((f) => f.doc));
    throw err;
  }
  let created: Awaited<ReturnType<AddDocumentDeps['documents']['createMany']>>;
  try {
    created = await timed(timings, 'records', () => deps.documents.createMany(fresh.map((f) => f.doc)));
  } catch (err) {
    await undo(fresh.map((f) => f.doc));
    throw err;
  }

  const orphans: DocumentRecord[] = [];
  const lostTo = new Map<number, string>();
  fresh.forEach(({ i, doc }, j) => {
    const outcome = created.outcomes[j];
    if (outcome === 'created') results[i] = { kind: 'created', doc, job: { tenant, documentId: doc.id, version: 1, reason: 'upload' } };
    else {
      orphans.push(doc);
      if (outcome) lostTo.set(i, outcome.holder);
    }
  });
  await undo(orphans);
  // Another upload recorded the same content between our lookup and our script: its document is the answer.
  if (lostTo.size > 0) {
    const winners = await deps.documents.getMany(tenant, [...new Set(lostTo.values())]);
    for (const [i, holder] of lostTo) {
      const doc = winners.get(holder);
      // Gone again already (deleted meanwhile): then this upload is new after all, as addDocument would decide.
      results[i] = doc ? { kind: 'duplicate', doc } : await addDocument(deps, inputs[i]);
    }
  }
  return { results, refused: created.refused };
}
