import { newJobId } from '../../src/reindex/start-reindex';

describe('newJobId', () => {
  test('When ids are drawn, then each is 16 hex digits with at least one letter (BullMQ refuses integer-like ids)', () => {
    const ids = Array.from({ length: 20_000 }, newJobId);
    for (const id of ids) {
      expect(id).toMatch(/^[0-9a-f]{16}$/);
      expect(`${parseInt(id, 10)}`).not.toBe(id);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });
});
