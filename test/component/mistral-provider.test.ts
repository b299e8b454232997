import { AppError } from '../../src/errors';
import type { ChatStreamEvent } from '../../src/gateway/provider';
import { MistralProvider } from '../../src/gateway/providers/mistral-provider';
import { DOUBLE_API_KEY, fakeEmbedding, startMistralDouble, type MistralDouble } from '../support/mistral-double';

const MODEL = 'mistral-small-latest';
const EMBED_MODEL = 'mistral-embed';

let double: MistralDouble;

beforeEach(async () => {
  double = await startMistralDouble();
});

afterEach(async () => {
  await double.close();
});

const provider = (opts: { timeoutMs?: number; embedMaxInputs?: number; apiKey?: string } = {}) =>
  new MistralProvider({
    apiKey: opts.apiKey ?? DOUBLE_API_KEY,
    serverUrl: double.url,
    timeoutMs: opts.timeoutMs,
    embedMaxInputs: opts.embedMaxInputs,
  });

const messages = [
  { role: 'system' as const, content: 'Be brief.' },
  { role: 'user' as const, content: 'hello there world' },
];

async function collect(iterable: AsyncIterable<ChatStreamEvent>): Promise<ChatStreamEvent[]> {
  const events: ChatStreamEvent[] = [];
  for await (const event of iterable) events.push(event);
  return events;
}

async function caught(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected a rejection');
}

describe('MistralProvider.chat', () => {
  it('When chatting, then it posts the exact body with the bearer key and maps text, model, usage and finish reason', async () => {
    const result = await provider().chat({ model: MODEL, messages, maxTokens: 50, temperature: 0.2 });

    expect(double.requests).toHaveLength(1);
    const [req] = double.requests;
    expect(req.path).toBe('/v1/chat/completions');
    expect(req.headers.authorization).toBe(`Bearer ${DOUBLE_API_KEY}`);
    expect(req.body).toEqual({ model: MODEL, messages, max_tokens: 50, temperature: 0.2, stream: false });
    expect(result).toEqual({
      text: 'echo: hello there world',
      model: MODEL,
      usage: { promptTokens: 5, completionTokens: 4 },
      finishReason: 'stop',
    });
  });

  it('When maxTokens and temperature are not given, then they are left out of the request body', async () => {
    await provider().chat({ model: MODEL, messages });
    expect(double.requests[0].body).toEqual({ model: MODEL, messages, stream: false });
  });

  it('When the upstream answers 429 with Retry-After 2, then it fails upstream_rate_limited, retryable, retryAfterMs 2000, without retrying', async () => {
    double.script([{ status: 429, retryAfter: 2 }]);
    const err = await caught(provider().chat({ model: MODEL, messages }));
    expect(err.code).toBe('upstream_rate_limited');
    expect(err.retryable).toBe(true);
    expect(err.details).toMatchObject({ retryAfterMs: 2000, upstreamStatus: 429 });
    expect(err.headers).toEqual({ 'Retry-After': '2' });
    expect(double.requests).toHaveLength(1);
  });

  it('When the upstream answers 500, then it fails upstream_unavailable, retryable, after a single request', async () => {
    double.script([{ status: 500 }]);
    const err = await caught(provider().chat({ model: MODEL, messages }));
    expect(err.code).toBe('upstream_unavailable');
    expect(err.retryable).toBe(true);
    expect(err.details).toMatchObject({ upstreamStatus: 500 });
    expect(double.requests).toHaveLength(1);
  });

  it('When the upstream answers 400, then it fails upstream_rejected and not retryable, with the upstream message', async () => {
    double.script([
      { status: 400, body: { object: 'error', message: 'Invalid model: nope', type: 'invalid_model', param: null, code: '1500' } },
    ]);
    const err = await caught(provider().chat({ model: 'nope', messages }));
    expect(err.code).toBe('upstream_rejected');
    expect(err.retryable).toBe(false);
    expect(err.details).toMatchObject({ upstreamStatus: 400, upstreamMessage: 'Invalid model: nope' });
  });

  it('When the API key is wrong, then the 401 is upstream_rejected and not retryable', async () => {
    const err = await caught(provider({ apiKey: 'wrong' }).chat({ model: MODEL, messages }));
    expect(err.code).toBe('upstream_rejected');
    expect(err.retryable).toBe(false);
  });

  it('When the upstream is slower than timeoutMs, then it fails upstream_unavailable (timeout) and closes the connection', async () => {
    double.script([{ delayMs: 6000 }]);
    const started = Date.now();
    const err = await caught(provider({ timeoutMs: 150 }).chat({ model: MODEL, messages }));
    expect(Date.now() - started).toBeLessThan(4000); // the answer would take 6 s: the margin is for a loaded machine
    expect(err.code).toBe('upstream_unavailable');
    expect(err.retryable).toBe(true);
    expect(err.details).toMatchObject({ reason: 'timeout', timeoutMs: 150 });
    await double.waitForClientClose(0);
  });

  it('When the caller aborts mid-request, then it fails aborted (not retryable) and the double sees the connection closed', async () => {
    double.script([{ delayMs: 5000 }]);
    const controller = new AbortController();
    const pending = provider().chat({ model: MODEL, messages, signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const err = await caught(pending);
    expect(err.code).toBe('aborted');
    expect(err.retryable).toBe(false);
    await double.waitForClientClose(0);
    expect(double.requests[0].closedEarly).toBe(true);
  });

  it('When the signal is already aborted, then it fails aborted without calling the upstream', async () => {
    const controller = new AbortController();
    controller.abort();
    const err = await caught(provider().chat({ model: MODEL, messages, signal: controller.signal }));
    expect(err.code).toBe('aborted');
    expect(double.requests).toHaveLength(0);
  });

  it('When the server is unreachable, then it fails upstream_unavailable, retryable', async () => {
    const url = double.url;
    await double.close();
    double = await startMistralDouble(); // for afterEach
    const err = await caught(new MistralProvider({ apiKey: DOUBLE_API_KEY, serverUrl: url }).chat({ model: MODEL, messages }));
    expect(err.code).toBe('upstream_unavailable');
    expect(err.retryable).toBe(true);
  });
});

describe('MistralProvider.chatStream', () => {
  it('When streaming, then it posts stream: true and yields the deltas in order, then one done with text and usage', async () => {
    const events = await collect(provider().chatStream({ model: MODEL, messages, maxTokens: 50, temperature: 0.5 }));

    expect(double.requests[0].body).toEqual({ model: MODEL, messages, max_tokens: 50, temperature: 0.5, stream: true });
    const deltas = events.filter((e) => e.type === 'delta');
    expect(deltas.length).toBeGreaterThanOrEqual(2);
    expect(events.at(-1)?.type).toBe('done');
    expect(events.filter((e) => e.type === 'done')).toHaveLength(1);
    const text = deltas.map((e) => (e.type === 'delta' ? e.text : '')).join('');
    expect(text).toBe('echo: hello there world');
    expect(events.at(-1)).toEqual({
      type: 'done',
      result: { text, model: MODEL, usage: { promptTokens: 5, completionTokens: 4 }, finishReason: 'stop' },
    });
  });

  it('When the stream breaks mid-way, then the iterator throws upstream_unavailable after the deltas already sent', async () => {
    double.script([{ brokenStream: true }]);
    const seen: ChatStreamEvent[] = [];
    let failure: unknown;
    try {
      for await (const event of provider().chatStream({ model: MODEL, messages })) seen.push(event);
    } catch (err) {
      failure = err;
    }
    expect(failure).toBeInstanceOf(AppError);
    expect((failure as AppError).code).toBe('upstream_unavailable');
    expect((failure as AppError).retryable).toBe(true);
    expect(seen.filter((e) => e.type === 'delta').length).toBeGreaterThan(0);
    expect(seen.some((e) => e.type === 'done')).toBe(false);
    expect((failure as AppError).details).toMatchObject({ reason: 'TypeError' }); // fetch body: "terminated"
  });

  it('When the stream request gets a 429, then the iterator throws upstream_rate_limited with retryAfterMs', async () => {
    double.script([{ status: 429, retryAfter: 2 }]);
    const err = await caught(collect(provider().chatStream({ model: MODEL, messages })));
    expect(err.code).toBe('upstream_rate_limited');
    expect(err.details).toMatchObject({ retryAfterMs: 2000 });
  });

  it('When the caller aborts while waiting for the stream, then the iterator throws aborted and the connection is closed', async () => {
    double.script([{ delayMs: 5000 }]);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const err = await caught(collect(provider().chatStream({ model: MODEL, messages, signal: controller.signal })));
    expect(err.code).toBe('aborted');
    await double.waitForClientClose(0);
  });

  it('When the consumer stops after the first delta, then the upstream connection is released', async () => {
    for await (const event of provider().chatStream({ model: MODEL, messages })) {
      expect(event.type).toBe('delta');
      break;
    }
    // Either the double had already finished writing (tiny answer) or it saw the close; both are fine, no hang.
    expect(double.requests).toHaveLength(1);
  });
});

describe('MistralProvider.embed', () => {
  it('When embedding, then it posts model and the input array (the wire name of the SDK inputs) and returns Float32Array vectors in order with usage', async () => {
    const texts = ['alpha', 'beta gamma', 'delta'];
    const result = await provider().embed(EMBED_MODEL, texts);

    expect(double.requests).toHaveLength(1);
    expect(double.requests[0].path).toBe('/v1/embeddings');
    expect(double.requests[0].body).toEqual({ model: EMBED_MODEL, input: texts });
    expect(result.vectors).toHaveLength(3);
    result.vectors.forEach((vector, i) => {
      expect(vector).toBeInstanceOf(Float32Array);
      expect(vector).toHaveLength(1024);
      expect(Array.from(vector)).toEqual(Array.from(Float32Array.from(fakeEmbedding(texts[i], 1024))));
    });
    expect(result.usage).toEqual({ promptTokens: 4, completionTokens: 0 });
  });

  it('When embedding more texts than the batch limit, then it sends several requests in order and concatenates the vectors', async () => {
    const texts = Array.from({ length: 300 }, (_, i) => `text number ${i}`);
    const result = await provider().embed(EMBED_MODEL, texts);

    expect(double.requests.map((r) => r.body.input.length)).toEqual([128, 128, 44]);
    expect(double.requests.flatMap((r) => r.body.input)).toEqual(texts);
    expect(result.vectors).toHaveLength(300);
    for (const i of [0, 127, 128, 255, 256, 299]) {
      expect(Array.from(result.vectors[i])).toEqual(Array.from(Float32Array.from(fakeEmbedding(texts[i], 1024))));
    }
    expect(result.usage.promptTokens).toBe(900);
  });

  it('When a configured batch limit is smaller, then batches follow it', async () => {
    await provider({ embedMaxInputs: 2 }).embed(EMBED_MODEL, ['a', 'b', 'c', 'd', 'e']);
    expect(double.requests.map((r) => r.body.input)).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
  });

  it('When there is nothing to embed, then no request is made', async () => {
    const result = await provider().embed(EMBED_MODEL, []);
    expect(result).toEqual({ vectors: [], usage: { promptTokens: 0, completionTokens: 0 } });
    expect(double.requests).toHaveLength(0);
  });

  it('When a later batch fails with 500, then embed fails upstream_unavailable and sends no further batch', async () => {
    double.script([{ delayMs: 0 }, { status: 500 }]);
    const texts = Array.from({ length: 5 }, (_, i) => `t${i}`);
    const err = await caught(provider({ embedMaxInputs: 2 }).embed(EMBED_MODEL, texts));
    expect(err.code).toBe('upstream_unavailable');
    expect(double.requests).toHaveLength(2);
  });

  it('When the embeddings upstream answers 429, then it fails upstream_rate_limited with retryAfterMs 2000', async () => {
    double.script([{ status: 429, retryAfter: 2 }]);
    const err = await caught(provider().embed(EMBED_MODEL, ['x']));
    expect(err.code).toBe('upstream_rate_limited');
    expect(err.retryable).toBe(true);
    expect(err.details).toMatchObject({ retryAfterMs: 2000 });
  });

  it('When the caller aborts an embed mid-request, then it fails aborted and the double sees the connection closed', async () => {
    double.script([{ delayMs: 5000 }]);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const err = await caught(provider().embed(EMBED_MODEL, ['x'], { signal: controller.signal }));
    expect(err.code).toBe('aborted');
    await double.waitForClientClose(0);
  });

  it('When the embeddings upstream is slower than timeoutMs, then it fails upstream_unavailable', async () => {
    double.script([{ delayMs: 2000 }]);
    const err = await caught(provider({ timeoutMs: 150 }).embed(EMBED_MODEL, ['x']));
    expect(err.code).toBe('upstream_unavailable');
    expect(err.details).toMatchObject({ reason: 'timeout' });
  });
});
