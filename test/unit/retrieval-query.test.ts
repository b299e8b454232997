import type { TurnCandidate } from '../../src/context/context-types';
import { searchQuery } from '../../src/sessions/retrieval-query';

const turn = (seq: number, role: 'user' | 'assistant', content: string): TurnCandidate => ({
  seq,
  role,
  content,
  createdAt: '2024-01-01T00:00:00Z',
  tokenCount: 1,
});
const recent = [turn(2, 'assistant', 'The Pro plan suits teams of five.'), turn(1, 'user', 'Tell me about the Pro plan for small teams.')];

describe('searchQuery', () => {
  it('When the question leans on the conversation, then the last user turn is searched with it', () => {
    expect(searchQuery('what about its price?', recent)).toBe('Tell me about the Pro plan for small teams.\nwhat about its price?');
    expect(searchQuery('and in 2024?', recent)).toBe('Tell me about the Pro plan for small teams.\nand in 2024?');
  });

  it('When the question names its own subject, then it is searched alone', () => {
    const q = 'How long does the refund process take for annual subscriptions bought in Europe?';
    expect(searchQuery(q, recent)).toBe(q);
  });

  it('When there is no earlier user turn, then the question is searched alone', () => {
    expect(searchQuery('what about its price?', [])).toBe('what about its price?');
    expect(searchQuery('what about its price?', [turn(1, 'assistant', 'Hello!')])).toBe('what about its price?');
  });
});
