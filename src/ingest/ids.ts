import { randomBytes } from 'node:crypto';

/** Time-ordered ids (ms timestamp then randomness), so listing by id is listing by age. */
export function newDocumentId(now = Date.now()): string {
  return `doc_${now.toString(36).padStart(9, '0')}${randomBytes(8).toString('hex')}`;
}
