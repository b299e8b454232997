import { readFileSync } from 'node:fs';
import path from 'node:path';
import { joinConversations, loadConversation, parseLocomoDate, type LocomoSample } from '../../scripts/eval/locomo';

/** How the memory evaluation reads LoCoMo (scripts/eval/locomo.ts), on the development slice itself. */
const samples = JSON.parse(readFileSync(path.resolve(__dirname, '../../../shared/data/locomo/locomo-dev.json'), 'utf8')) as LocomoSample[];

describe('LoCoMo for the memory evaluation', () => {
  const [a, b] = samples.map(loadConversation);

  it('When a conversation is loaded, Then every turn is a dated message and every evidence id names one of its turns', () => {
    expect([a.messages.length, b.messages.length]).toEqual([419, 369]);
    expect(a.messages[0].content).toMatch(/^\w+: /);
    for (const conv of [a, b]) {
      const dates = conv.messages.map((m) => Date.parse(m.createdAt));
      expect(dates.every(Number.isFinite)).toBe(true);
      for (const q of conv.questions) for (const id of q.evidence) expect(conv.textById.has(id)).toBe(true);
    }
    expect(parseLocomoDate('1:56 pm on 8 May, 2023')).toBe(Date.UTC(2023, 4, 8, 13, 56));
  });

  it('When two conversations are joined, Then one session holds both in order, with every question and its evidence under a prefixed id', () => {
    const joined = joinConversations([a, b]);
    expect(joined.sampleId).toBe(`${a.sampleId}_${b.sampleId}`);
    expect(joined.messages).toEqual([...a.messages, ...b.messages]);
    expect(joined.questions.length).toBe(a.questions.length + b.questions.length);
    expect(joined.textById.size).toBe(a.textById.size + b.textById.size);
    for (const q of joined.questions) for (const id of q.evidence) expect(joined.textById.has(id)).toBe(true);
    const first = a.questions.find((q) => q.evidence.length > 0)!;
    expect(joined.questions[a.questions.indexOf(first)].evidence).toEqual(first.evidence.map((id) => `${a.sampleId}:${id}`));
    expect(joined.textById.get(`${a.sampleId}:${first.evidence[0]}`)).toBe(a.textById.get(first.evidence[0]));
  });
});
