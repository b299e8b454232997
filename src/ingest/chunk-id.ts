import { createHash } from 'node:crypto';

/**
 * A chunk's id is a UUID derived from (document id, version, chunk index), so a retried or re-run job writes the
 * same ids and overwrites instead of duplicating. UUID form because Qdrant point ids must be UUIDs or integers.
 */
export function chunkId(documentId: string, version: number, index: number): string {
  const h = createHash('sha256').update(`${documentId}\u0000${version}\u0000${index}`).digest();
  h[6] = (h[6] & 0x0f) | 0x50; // version nibble 5 (name-based), as RFC 9562 lays out
  h[8] = (h[8] & 0x3f) | 0x80; // variant 10
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
