import { newDocumentId, newDocumentIds } from '../../src/ingest/ids';

describe('document ids', () => {
  it('orders by creation time, then is random', () => {
    const earlier = newDocumentId(1_700_000_000_000);
    const later = newDocumentId(1_700_000_000_001);
    expect(earlier < later).toBe(true);
    expect(earlier).toMatch(/^doc_[0-9a-z]{9}[0-9a-f]{16}$/);
  });

  it('draws a batch from one randomness, every id distinct and shaped like a single one', () => {
    const ids = newDocumentIds(500, 1_700_000_000_000);
    expect(new Set(ids).size).toBe(500);
    const prefix = newDocumentId(1_700_000_000_000).slice(0, 13);
    for (const id of ids) {
      expect(id).toMatch(/^doc_[0-9a-z]{9}[0-9a-f]{16}$/);
      expect(id.startsWith(prefix)).toBe(true);
    }
    expect(newDocumentIds(0)).toEqual([]);
  });
});
