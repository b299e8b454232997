import { TokenCounter } from '../../src/core/tokens/token-counter';
import { OfflineEmbedder } from '../../src/gateway/offline-embedder';
import type { ChatMessage } from '../../src/core/chat-message';
import type { ChatRequest, ChatStreamEvent } from '../../src/gateway/provider';
import { AppError } from '../../src/errors';
import {
  NOT_FOUND_ANSWER,
  OfflineProvider,
  parseChatContext,
  splitSentences,
  summarize,
} from '../../src/gateway/providers/offline-provider';

const tokenCounter = new TokenCounter();
const provider = new OfflineProvider({ tokenCounter });

const CONTEXT = `You answer from the context below and cite sources by their markers.
<context>
[1] Pricing guide (page 3)
The Pro plan costs 20 euros per month. Annual billing gives two months free.
Students get a 50% discount on every plan.

[2] Security whitepaper (page 12)
All customer data is encrypted at rest with AES-256. Backups are taken every night and kept for 30 days.
The service is hosted in data centres in Frankfurt.

[4] Support handbook
Support is available by email on weekdays. Enterprise customers get a dedicated account manager.
</context>`;

function ask(question: string, extra: ChatMessage[] = [], maxTokens?: number): ChatRequest {
  return {
    model: 'offline-extractive',
    messages: [{ role: 'system', content: CONTEXT }, ...extra, { role: 'user', content: question }],
    ...(maxTokens !== undefined ? { maxTokens } : {}),
  };
}

const markersOf = (text: string) => [...text.matchAll(/\[([^\]]+)\]/g)].map((m) => m[1]);

async function collect(stream: AsyncIterable<ChatStreamEvent>): Promise<ChatStreamEvent[]> {
  const events: ChatStreamEvent[] = [];
  for await (const e of stream) events.push(e);
  return events;
}

describe('OfflineProvider chat', () => {
  it('When asked the same question twice (or by another instance), Then the answers are identical', async () => {
    const req = ask('How long are backups kept?');
    const a = await provider.chat(req);
    const b = await new OfflineProvider({ tokenCounter }).chat(req);
    expect(b).toEqual(a);
    expect(a.finishReason).toBe('stop');
    expect(a.model).toBe('offline-extractive');
  });

  it('When a question matches one sentence among distractors, Then that sentence is the answer, cited', async () => {
    const r = await provider.chat(ask('How long are backups kept?'));
    expect(r.text).toBe('Backups are taken every night and kept for 30 days. [2]');
    const enc = await provider.chat(ask('Which encryption protects customer data at rest?'));
    expect(enc.text.startsWith('All customer data is encrypted at rest with AES-256. [2]')).toBe(true);
    const price = await provider.chat(ask('What does the Pro plan cost?'));
    expect(price.text).toContain('The Pro plan costs 20 euros per month. [1]');
    expect(price.text).not.toContain('Frankfurt');
  });

  it('When answering, Then every cited marker is one present in the context and at most 3 sentences are used', async () => {
    const questions = [
      'Where is the service hosted?',
      'What support do enterprise customers get?',
      'plan discount students pro annual billing',
      'data backups encrypted customer frankfurt',
    ];
    for (const q of questions) {
      const r = await provider.chat(ask(q));
      expect(r.text).not.toBe(NOT_FOUND_ANSWER);
      const cited = markersOf(r.text);
      expect(cited.length).toBeGreaterThan(0);
      expect(cited.length).toBeLessThanOrEqual(3);
      for (const m of cited) expect(['1', '2', '4']).toContain(m);
    }
  });

  it('When chunk text carries its own footnote markers, Then they are not cited', async () => {
    const r = await provider.chat({
      model: 'offline-extractive',
      messages: [
        { role: 'user', content: '<document id="7" title="Paper">Mitochondria produce ATP in cells [12].</document>' },
        { role: 'user', content: 'What do mitochondria produce?' },
      ],
    });
    expect(r.text).toBe('Mitochondria produce ATP in cells. [7]');
  });

  it('When the question shares no meaningful term with the context, Then the answer is the not-found sentence', async () => {
    for (const q of ['What is the capital of Peru?', 'What is it?', 'Tell me about quantum chromodynamics.']) {
      const r = await provider.chat(ask(q));
      expect(r.text).toBe(NOT_FOUND_ANSWER);
    }
    const none = await provider.chat({ model: 'offline-extractive', messages: [{ role: 'user', content: 'Backups?' }] });
    expect(none.text).toBe(NOT_FOUND_ANSWER);
  });

  it('When older turns and a summary precede the question, Then only context chunks are sources', async () => {
    const r = await provider.chat(
      ask('How long are backups kept?', [
        { role: 'user', content: 'Are backups kept forever?' },
        { role: 'assistant', content: 'Backups are kept forever in Iceland. [9]' },
      ]),
    );
    expect(r.text).toBe('Backups are taken every night and kept for 30 days. [2]');
  });

  it('When sentences repeat across chunks, Then near-duplicates are answered once', async () => {
    const r = await provider.chat({
      model: 'offline-extractive',
      messages: [
        {
          role: 'system',
          content:
            '<context>\n[1] A\nThe warranty lasts two years.\n[2] B\nThe warranty lasts two years!\n[3] C\nThe warranty covers two years of repairs.\n</context>',
        },
        { role: 'user', content: 'How long does the warranty last?' },
      ],
    });
    expect(r.text).toBe('The warranty lasts two years. [1]');
  });

  it('When maxTokens is small, Then the answer fits in it', async () => {
    const r = await provider.chat(ask('plan discount students pro annual billing', [], 12));
    expect(tokenCounter.count(r.text)).toBeLessThanOrEqual(12);
    expect(markersOf(r.text).every((m) => ['1', '2', '4'].includes(m))).toBe(true);
  });

  it('When answering, Then usage counts match the TokenCounter', async () => {
    const req = ask('Where is the service hosted?');
    const r = await provider.chat(req);
    const prompt = req.messages.reduce((s, m) => s + tokenCounter.count(m.content), 0);
    expect(r.usage).toEqual({ promptTokens: prompt, completionTokens: tokenCounter.count(r.text) });
  });

  it('When the signal is already aborted, Then chat throws AppError aborted 499', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(provider.chat({ ...ask('Where?'), signal: ac.signal })).rejects.toMatchObject({
      code: 'aborted',
      status: 499,
    });
  });
});

describe('OfflineProvider chatStream', () => {
  it('When streaming, Then the deltas concatenate to the chat text and done carries the chat result', async () => {
    for (const q of ['What does the Pro plan cost?', 'What is the capital of Peru?']) {
      const req = ask(q);
      const events = await collect(provider.chatStream(req));
      const deltas = events.filter((e) => e.type === 'delta').map((e) => (e as { text: string }).text);
      const done = events.filter((e) => e.type === 'done');
      expect(done).toHaveLength(1);
      expect(events[events.length - 1].type).toBe('done');
      expect(deltas.length).toBeGreaterThan(1);
      const chat = await provider.chat(req);
      expect(deltas.join('')).toBe(chat.text);
      expect((done[0] as { result: unknown }).result).toEqual(chat);
    }
  });

  it('When the signal aborts mid-stream, Then the stream stops with AppError aborted', async () => {
    const ac = new AbortController();
    const seen: string[] = [];
    let error: unknown;
    try {
      for await (const e of provider.chatStream({ ...ask('What does the Pro plan cost?'), signal: ac.signal })) {
        if (e.type === 'delta') seen.push(e.text);
        if (seen.length === 2) ac.abort();
      }
    } catch (err) {
      error = err;
    }
    expect(seen).toHaveLength(2);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'aborted', status: 499, retryable: false });
  });
});

const CONVERSATION = `User: Hi! How are you today?
Assistant: I'm fine, thanks for asking. How can I help?
User: Lovely weather, isn't it?
User: My colleague Maria Lopez leads the Berlin launch.
User: We agreed to move the launch to 14 March 2025.
Assistant: Noted. The budget is 40000 euros.
User: Great, thanks!
User: I will send the contract to Kenji on Friday.
Assistant: You're welcome. Have a nice day!`;

describe('OfflineProvider summarize', () => {
  it('When summarising a conversation, Then names, numbers, dates and decisions stay and small talk goes', () => {
    const s = summarize(CONVERSATION, { tokenCounter, maxTokens: 200 });
    expect(s).toContain('Maria Lopez leads the Berlin launch.');
    expect(s).toContain('We agreed to move the launch to 14 March 2025.');
    expect(s).toContain('The budget is 40000 euros.');
    expect(s).toContain('I will send the contract to Kenji on Friday.');
    for (const smallTalk of ['How are you', 'weather', 'Great, thanks', 'nice day', 'How can I help']) {
      expect(s).not.toContain(smallTalk);
    }
    // Original order.
    expect(s.indexOf('Maria')).toBeLessThan(s.indexOf('14 March'));
    expect(s.indexOf('40000')).toBeLessThan(s.indexOf('Kenji'));
    expect(summarize(CONVERSATION, { tokenCounter, maxTokens: 200 })).toBe(s);
  });

  it('When a previous summary is given, Then it is kept first and the new facts follow', () => {
    const input = `Previous summary: Alice owns the Tokyo account.\n\nUser: Hello there!\nUser: Alice will fly to Osaka on 3 June.`;
    const s = summarize(input, { tokenCounter, maxTokens: 100 });
    expect(s.startsWith('Alice owns the Tokyo account.')).toBe(true);
    expect(s).toContain('Alice will fly to Osaka on 3 June.');
    expect(s).not.toContain('Hello there');
    const tagged = summarize('<summary>Bob chose plan B.</summary>\nUser: Thanks!\nUser: The invoice is 300 dollars.', {
      tokenCounter,
    });
    expect(tagged).toBe('Bob chose plan B.\nUser: The invoice is 300 dollars.');
  });

  it('When the summary would exceed maxTokens, Then it fits and keeps the previous summary', () => {
    const s = summarize(`Summary: Alice owns the Tokyo account.\n\n${CONVERSATION}`, { tokenCounter, maxTokens: 30 });
    expect(tokenCounter.count(s)).toBeLessThanOrEqual(30);
    expect(s.startsWith('Alice owns the Tokyo account.')).toBe(true);
  });

  it('When chat is called with the summariser model, Then it returns the summary with usage', async () => {
    const req: ChatRequest = {
      model: 'offline-summarizer',
      messages: [
        { role: 'system', content: 'Summarize the conversation, keeping names, numbers, dates and decisions.' },
        { role: 'user', content: CONVERSATION },
      ],
      maxTokens: 200,
    };
    const r = await provider.chat(req);
    expect(r.text).toBe(summarize(CONVERSATION, { tokenCounter, maxTokens: 200 }));
    expect(r.usage.completionTokens).toBe(tokenCounter.count(r.text));
    const events = await collect(provider.chatStream(req));
    expect(events.flatMap((e) => (e.type === 'delta' ? [e.text] : [])).join('')).toBe(r.text);
  });

  it('When a summarise request comes as separate messages without the summariser model, Then it is still summarised', async () => {
    const r = await provider.chat({
      model: 'offline-extractive',
      messages: [
        { role: 'system', content: 'Please summarise the conversation so far.' },
        { role: 'user', content: 'Hi!' },
        { role: 'assistant', content: 'Hello! How can I help?' },
        { role: 'user', content: 'We decided to hire Priya in April.' },
      ],
    });
    expect(r.text).toBe('User: We decided to hire Priya in April.');
  });
});

describe('OfflineProvider embed', () => {
  it('When embedding, Then vectors are OfflineEmbedder vectors and usage counts the inputs', async () => {
    const texts = ['hello world', 'Backups are kept for 30 days.'];
    const r = await provider.embed('offline-hash-v1', texts);
    expect(r.vectors).toEqual(await new OfflineEmbedder().embed(texts));
    expect(r.usage).toEqual({ promptTokens: texts.reduce((s, t) => s + tokenCounter.count(t), 0), completionTokens: 0 });
    const ac = new AbortController();
    ac.abort();
    await expect(provider.embed('offline-hash-v1', texts, { signal: ac.signal })).rejects.toMatchObject({ code: 'aborted' });
  });
});

describe('offline context parsing', () => {
  it('When the context comes in several tolerated shapes, Then all chunks and the question are found', () => {
    const parsed = parseChatContext([
      { role: 'system', content: 'Sources:\n[1] Guide (page 3)\nAlpha text.\n[2] Beta text on the marker line.' },
      { role: 'assistant', content: '[9] Not a source.' },
      { role: 'user', content: '<document id="3">Gamma text.</document>\n<context>\n[5] Delta\nDelta text.' },
      { role: 'user', content: '<context>[6] Epsilon\nEpsilon text.</context>\nQuestion: What is alpha?' },
    ]);
    expect(parsed.passages).toEqual([
      { marker: '1', title: 'Guide (page 3)', text: 'Alpha text.' },
      { marker: '2', text: 'Beta text on the marker line.' },
      { marker: '3', text: 'Gamma text.' },
      { marker: '5', title: 'Delta', text: 'Delta text.' },
      { marker: '6', title: 'Epsilon', text: 'Epsilon text.' },
    ]);
    expect(parsed.question).toBe('What is alpha?');
  });

  it('When splitting sentences, Then abbreviations, initials and hard wraps do not cut sentences', () => {
    expect(splitSentences('Dr. J. Smith wrote it, e.g. in 2020. It was\nwidely read! Was it? Yes.\n\n- item one\n- item two')).toEqual([
      'Dr. J. Smith wrote it, e.g. in 2020.',
      'It was widely read!',
      'Was it?',
      'Yes.',
      'item one',
      'item two',
    ]);
  });
});
