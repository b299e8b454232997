import { TokenCounter } from '../../src/core/tokens/token-counter';
import { summarize } from '../../src/gateway/providers/offline-summarize';

/** Made-up chats (never LoCoMo's): what the extractive summariser keeps when room is short. */
const tokenCounter = new TokenCounter();

/** As the session summariser renders imported turns: a role, then the speaker's name inside the text. */
const TRANSCRIPT = `User: Sam: Hey Robin!
Assistant: Robin: Hi Sam! Long time no see.
User: Sam: I moved to Porto in March 2021 and started at Helix Labs as a data engineer.
Assistant: Robin: Wow, that's so cool, Sam!
User: Sam: Totally agree, Robin.
Assistant: Robin: My sister Ana turns 30 on 14 June, so we are planning a dinner at Casa Verde.
User: Sam: Thanks so much, Robin!
Assistant: Robin: Haha, yeah, for sure!`;

const FACTS = [
  'I moved to Porto in March 2021 and started at Helix Labs as a data engineer.',
  'My sister Ana turns 30 on 14 June, so we are planning a dinner at Casa Verde.',
];
const FILLERS = ['Hey Robin', 'Long time no see', "that's so cool", 'Totally agree', 'Thanks so much', 'for sure'];

describe('The offline summariser keeps facts, not fillers', () => {
  test('When a chat mixes greetings and facts, then only the facts stay, each with its speaker', () => {
    const s = summarize(TRANSCRIPT, { tokenCounter, maxTokens: 200 });
    expect(s).toBe(`Sam: ${FACTS[0]}\nRobin: ${FACTS[1]}`);
    for (const filler of FILLERS) expect(s).not.toContain(filler);
  });

  test('When room is short, then a filler never takes the place of a fact', () => {
    // Room for one sentence: the denser fact wins over every filler, whatever their order.
    const oneFact = summarize(TRANSCRIPT, { tokenCounter, maxTokens: 30 });
    expect(tokenCounter.count(oneFact)).toBeLessThanOrEqual(30);
    expect(FACTS.some((f) => oneFact.includes(f))).toBe(true);
    for (const filler of FILLERS) expect(oneFact).not.toContain(filler);
  });

  test('When sentences differ only in what they carry, then names, dates, numbers and content words win room', () => {
    const chat = [
      'User: It was really really nice and we had a really good time there.',
      'User: Dana booked the flight to Oslo for 12 May at 9:40.',
      'User: Honestly it was okay, I guess, nothing special about it at all.',
    ].join('\n');
    const s = summarize(chat, { tokenCounter, maxTokens: 20 });
    expect(s).toBe('User: Dana booked the flight to Oslo for 12 May at 9:40.');
  });

  test('When the turns come with day lines, then the days end turns and are not kept as sentences', () => {
    const chat = 'On 2024-02-03:\nUser: Dana booked the flight to Oslo for 12 May at 9:40\nOn 2024-02-04:\nAssistant: Great';
    expect(summarize(chat, { tokenCounter, maxTokens: 100 })).toBe('User: Dana booked the flight to Oslo for 12 May at 9:40');
  });

  test('When the speakers are named in the turns, then naming them is no fact, but naming someone else is', () => {
    const chat = [
      'User: Lee: Sure thing, Kim, see you soon then!',
      'Assistant: Kim: Lee, my brother Omar arrives from Cairo tonight.',
    ].join('\n');
    expect(summarize(chat, { tokenCounter, maxTokens: 100 })).toBe('Kim: Lee, my brother Omar arrives from Cairo tonight.');
  });
});
